/**
 * The derived `auth` object a framework app's sessions get in the plain view (`--where`,
 * `inspect --json`): who is logged in, read the way the framework reads it.
 * - Laravel: `auth.<guard>` is the value of `login_<guard>_<sha1>` (SessionGuard's key), and
 *   `auth.user` the `web` guard's.
 * - Symfony: `auth.<firewall>` is the user identifier in the security token under the
 *   attribute `_security_<firewall>`, and `auth.user` the `main` firewall's (else the first one's).
 * Real session keys keep their meaning: when a session has a top-level key `auth` of its own
 * (Laravel's password confirmation stores `auth.password_confirmed_at` there), its entries win
 * and the derived ones only fill in names it lacks; a non-array `auth` hides the derived object.
 */
import { PhpArray, type PhpValue } from '../../codec/values.js';
import { SymfonySessionView } from '../../frameworks/symfony/bags.js';
import type { Framework } from './types.js';

type ToPlain = (v: PhpValue, o: { json: true }) => unknown;

const LARAVEL_LOGIN = /^login_(.+)_[0-9a-f]{40}$/;

/** Who a session says is logged in, or null when nobody. */
export function sessionAuth(framework: Framework, data: PhpArray, toPlain: ToPlain): Record<string, unknown> | null {
  const auth: Record<string, unknown> = {};
  if (framework === 'laravel') {
    for (const [k, v] of data) {
      const m = typeof k === 'string' ? LARAVEL_LOGIN.exec(k) : null;
      if (m) auth[m[1]!] = toPlain(v, { json: true });
    }
    if (Object.hasOwn(auth, 'web')) auth.user = auth.web;
  } else {
    const view = new SymfonySessionView(data);
    const bag = data.get('_sf2_attributes');
    const firewalls = bag instanceof PhpArray ? [...bag.keys()].flatMap((k) => (typeof k === 'string' && k.startsWith('_security_') ? [k.slice(10)] : [])) : [];
    for (const fw of firewalls) {
      try {
        const id = view.securityToken(fw)?.userIdentifier;
        if (id !== undefined) auth[fw] = id;
      } catch {
        // A token that does not unserialize names nobody.
      }
    }
    const main = Object.hasOwn(auth, 'main') ? auth.main : Object.values(auth)[0];
    if (main !== undefined && !Object.hasOwn(auth, 'user')) auth.user = main;
  }
  return Object.keys(auth).length > 0 ? auth : null;
}

/** The plain view with the derived `auth` merged in (real keys win; see the module comment). */
export function withAuth(plain: unknown, auth: Record<string, unknown> | null): unknown {
  if (!auth || plain === null || typeof plain !== 'object' || Array.isArray(plain)) return plain;
  const view = plain as Record<string, unknown>;
  if (!Object.hasOwn(view, 'auth')) {
    view.auth = auth;
    return view;
  }
  const real = view.auth;
  if (real === null || typeof real !== 'object' || Array.isArray(real)) return view;
  for (const [k, v] of Object.entries(auth)) if (!Object.hasOwn(real, k)) (real as Record<string, unknown>)[k] = v;
  return view;
}

/** A plain-view builder for compileWhere that adds `auth`. */
export function authAugmenter(framework: Framework, toPlain: ToPlain): (data: PhpArray, plain: unknown) => unknown {
  return (data, plain) => withAuth(plain, sessionAuth(framework, data, toPlain));
}
