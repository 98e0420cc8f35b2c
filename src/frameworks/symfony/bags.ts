/**
 * Symfony's session bags over `$_SESSION` (HttpFoundation 5.4, NativeSessionStorage): the
 * AttributeBag under `_sf2_attributes` (namespaced attributes: `a/b` walks nested arrays, as
 * NamespacedAttributeBag does), the FlashBag under `_symfony_flashes` (type → messages; get()
 * removes, peek() does not) and the MetadataBag under `_sf2_meta` (`c` created, `u` last used,
 * `l` cookie lifetime), which {@link SymfonySessionView.touch} updates as a Symfony request would.
 */
import { DecodeError } from '../../errors.js';
import { fromPlain, PhpArray, type PhpValue } from '../../codec/index.js';
import { readSecurityToken, type SecurityTokenInfo } from './security-token.js';

const ATTRIBUTES = '_sf2_attributes';
const FLASHES = '_symfony_flashes';
const META = '_sf2_meta';

function bag(data: PhpArray, key: string): PhpArray {
  let b = data.get(key);
  if (!(b instanceof PhpArray)) {
    b = new PhpArray();
    data.set(key, b);
  }
  return b;
}
/**
 * The bag stored under `key` when it is an array, else undefined: NativeSessionStorage::loadSession()
 * gives a bag an empty array in place of anything else stored under its key (`_sf2_attributes|i:5;`),
 * so such a session reads as having no attributes, not as an error.
 */
function storedBag(data: PhpArray, key: string): PhpArray | undefined {
  const b = data.get(key);
  return b instanceof PhpArray ? b : undefined;
}
const toPhp = (v: unknown): PhpValue => (v instanceof PhpArray || v === null || typeof v !== 'object' ? (v as PhpValue) : fromPlain(v));

export class SymfonySessionView {
  constructor(readonly data: PhpArray) {}

  /** $session->get($name): the attribute bag; `any` unless typed, like PhpArray.get (the shape comes from PHP). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  get<T = any>(name: string): T | undefined {
    return storedBag(this.data, ATTRIBUTES)?.get<T>(name);
  }
  has(name: string): boolean {
    return storedBag(this.data, ATTRIBUTES)?.has(name) ?? false;
  }
  set(name: string, value: unknown): void {
    bag(this.data, ATTRIBUTES).set(name, toPhp(value));
  }
  remove(name: string): PhpValue | undefined {
    const b = this.data.get(ATTRIBUTES);
    if (!(b instanceof PhpArray)) return undefined;
    const v = b.get(name);
    b.delete(name);
    return v;
  }
  /** NamespacedAttributeBag::get('a/b/c'). */
  getNamespaced(name: string, separator = '/'): PhpValue | undefined {
    let at: PhpValue | undefined = this.data.get(ATTRIBUTES);
    for (const part of name.split(separator)) {
      if (!(at instanceof PhpArray)) return undefined;
      at = at.get(part);
    }
    return at;
  }

  /** FlashBag::peek($type): the messages, left in place. */
  peekFlashes(type: string): PhpValue[] {
    const m = storedBag(this.data, FLASHES)?.get(type);
    return m instanceof PhpArray ? [...m.values()] : [];
  }
  /** FlashBag::get($type): the messages, removed (shown once). */
  getFlashes(type: string): PhpValue[] {
    const m = this.peekFlashes(type);
    storedBag(this.data, FLASHES)?.delete(type);
    return m;
  }
  /** FlashBag::add($type, $message). */
  addFlash(type: string, message: unknown): void {
    const b = bag(this.data, FLASHES);
    let list = b.get(type);
    if (!(list instanceof PhpArray)) {
      list = new PhpArray();
      b.set(type, list);
    }
    list.push(toPhp(message));
  }

  /** The MetadataBag: created and last used (Unix seconds), cookie lifetime. */
  get metadata(): { created?: number; lastUsed?: number; lifetime?: number } {
    const m = this.data.get(META);
    const n = (k: string) => (m instanceof PhpArray && typeof m.get(k) === 'number' ? (m.get(k) as number) : undefined);
    return { created: n('c'), lastUsed: n('u'), lifetime: n('l') };
  }
  /** MetadataBag::initialize() with update threshold 0: last used = now (a new session gets created = now, lifetime 0). */
  touch(now = Math.floor(Date.now() / 1000)): void {
    const m = this.data.get(META);
    if (m instanceof PhpArray && m.has('c')) m.set('u', now);
    else this.data.set(META, fromPlain({ u: now, c: now, l: 0 }));
  }

  /**
   * The security token a firewall keeps (`_security_<firewall>`, serialize($token) as
   * ContextListener stores it): its class, the user identifier and user class, its role names.
   * Read as data: no PHP class is instantiated (see security-token.ts).
   * @returns null when the session holds no token for that firewall.
   * @throws DecodeError naming the attribute when the stored value is not a serialized token
   *   object (truncated, garbage, too deeply nested).
   */
  securityToken(firewall = 'main'): SecurityTokenInfo | null {
    const name = `_security_${firewall}`;
    const raw: unknown = this.get(name);
    if (raw === undefined || raw === null) return null;
    const source = `session attribute ${name}`;
    // A string value is the token's bytes as valid UTF-8 (the codec gives bytes that are not as a Buffer).
    if (typeof raw === 'string') return readSecurityToken(Buffer.from(raw, 'utf8'), source);
    if (raw instanceof Uint8Array) return readSecurityToken(raw, source);
    throw new DecodeError('not a serialized security token (not a string)', 0, source);
  }
}
