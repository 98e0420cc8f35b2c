/**
 * What a Laravel session's attributes mean, over the decoded array (any backend):
 * dot-notation keys as Illuminate\Support\Arr reads and writes them, the authenticated user
 * (`login_<guard>_<sha1 of SessionGuard's class name>`), the CSRF token (`_token`), the
 * previous URL (`_previous.url`) and flash data (`_flash.new` / `_flash.old`). Reading never
 * ages flash data; {@link LaravelSessionView.ageFlashData} does what Store::save() does, for a
 * Node service that takes a request's place.
 */
import { createHash } from 'node:crypto';
import { fromPlain, PhpArray, type PhpKey, type PhpValue } from '../../codec/index.js';

/** SessionGuard::getName(): the key under which a guard keeps the user id. */
export function loginKey(guard = 'web', guardClass = 'Illuminate\\Auth\\SessionGuard'): string {
  return `login_${guard}_${createHash('sha1').update(guardClass, 'utf8').digest('hex')}`;
}

/** A Laravel session's attributes, read and changed as Laravel's Store does. */
export class LaravelSessionView {
  constructor(readonly data: PhpArray) {}

  /** Arr::get($attributes, $key): `a.b` walks into nested arrays unless `a.b` itself is a key. */
  get(key: string): PhpValue | undefined {
    if (this.data.has(key)) return this.data.get(key);
    let at: PhpValue | undefined = this.data;
    for (const part of key.split('.')) {
      if (!(at instanceof PhpArray) || !at.has(part)) return undefined;
      at = at.get(part);
    }
    return at;
  }

  has(key: string): boolean {
    const v = this.get(key);
    return v !== undefined && v !== null;
  }

  /** Arr::set(): plain JS values are converted (fromPlain); missing or scalar levels become arrays. */
  put(key: string, value: unknown): void {
    const parts = key.split('.');
    let at = this.data;
    for (const part of parts.slice(0, -1)) {
      let next = at.get(part);
      if (!(next instanceof PhpArray)) {
        next = new PhpArray();
        at.set(part, next);
      }
      at = next;
    }
    at.set(parts[parts.length - 1]!, isPhpValue(value) ? value : fromPlain(value));
  }

  /** Arr::forget(). */
  forget(key: string): void {
    if (this.data.delete(key)) return;
    const parts = key.split('.');
    let at: PhpValue | undefined = this.data;
    for (const part of parts.slice(0, -1)) {
      at = at instanceof PhpArray ? at.get(part) : undefined;
    }
    if (at instanceof PhpArray) at.delete(parts[parts.length - 1]!);
  }

  /** The CSRF token (`_token`), as `csrf_token()` returns it. */
  get token(): string | undefined {
    const t = this.data.get('_token');
    return typeof t === 'string' ? t : undefined;
  }

  /** The id of the user logged in through `guard` (Auth::guard($guard)->id()), or undefined. */
  userId(guard = 'web'): PhpKey | undefined {
    const id = this.data.get(loginKey(guard));
    return typeof id === 'number' || typeof id === 'string' || typeof id === 'bigint' ? id : undefined;
  }

  /** Logs the user in for `guard` as SessionGuard::updateSession() records it (Laravel also regenerates the id: do it too). */
  login(userId: number | string, guard = 'web'): void {
    this.data.set(loginKey(guard), userId);
  }

  logout(guard = 'web'): void {
    this.data.delete(loginKey(guard));
  }

  get previousUrl(): string | undefined {
    const u = this.get('_previous.url');
    return typeof u === 'string' ? u : undefined;
  }

  /** Keys flashed for the next request (`_flash.new`) and those visible to this one (`_flash.old`). */
  get flashKeys(): { new: string[]; old: string[] } {
    return { new: strings(this.get('_flash.new')), old: strings(this.get('_flash.old')) };
  }

  /** Store::flash(): set now, kept for the next request. */
  flash(key: string, value: unknown): void {
    this.put(key, value);
    const { new: fresh, old } = this.flashKeys;
    if (!fresh.includes(key)) fresh.push(key);
    this.put('_flash.new', PhpArray.of(...fresh));
    this.put('_flash.old', PhpArray.of(...old.filter((k) => k !== key)));
  }

  /** Store::ageFlashData(), what Laravel does when a request ends: old keys go, new become old. */
  ageFlashData(): void {
    const { new: fresh, old } = this.flashKeys;
    for (const k of old) this.forget(k);
    this.put('_flash.old', PhpArray.of(...fresh));
    this.put('_flash.new', new PhpArray());
  }
}

function strings(v: PhpValue | undefined): string[] {
  return v instanceof PhpArray ? [...v.values()].filter((x): x is string => typeof x === 'string') : [];
}

function isPhpValue(v: unknown): v is PhpValue {
  return v === null || ['string', 'number', 'boolean', 'bigint'].includes(typeof v) || v instanceof PhpArray;
}
