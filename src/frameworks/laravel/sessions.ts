/**
 * A Laravel app's sessions from Node: its storage (any SessionBackend: the laravel-files
 * backend, …) plus its cookie. The id comes from the encrypted cookie alone; a cookie that does
 * not verify is never turned into an id.
 */
import type { PhpArray } from '../../codec/index.js';
import type { SessionBackend, SessionUpdater } from '../../session/contract.js';
import { decryptLaravelCookie, encryptLaravelCookie } from './cookie.js';
import { LaravelEncrypter, type LaravelKeyOptions } from './encrypter.js';
import { LaravelSessionView } from './session.js';

export interface LaravelSessionsOptions extends LaravelKeyOptions {
  /** The app's session storage. */
  store: SessionBackend;
  /** config('session.cookie'); default `laravel_session`. */
  cookieName?: string;
}

export class LaravelSessions {
  readonly store: SessionBackend;
  readonly cookieName: string;
  readonly encrypter: LaravelEncrypter;

  /** @throws ConfigError for a bad key or cipher. */
  constructor(options: LaravelSessionsOptions) {
    this.store = options.store;
    this.cookieName = options.cookieName ?? 'laravel_session';
    this.encrypter = new LaravelEncrypter(options);
  }

  /** The session id inside a cookie value. @throws LaravelDecryptError (EDECRYPT) */
  idFromCookie(cookieValue: string): string {
    return decryptLaravelCookie(cookieValue, { name: this.cookieName, encrypter: this.encrypter });
  }

  /** The Set-Cookie value for an id (Node issued or regenerated it). */
  cookieFor(id: string): string {
    return encryptLaravelCookie(id, { name: this.cookieName, encrypter: this.encrypter });
  }

  /** The session a cookie points at, as Laravel would see it (null when it has none). */
  async read(cookieValue: string): Promise<LaravelSessionView | null> {
    const data = await this.store.read(this.idFromCookie(cookieValue));
    return data ? new LaravelSessionView(data) : null;
  }

  /** Changes the session a cookie points at under the store's lock. */
  async update(cookieValue: string, fn: (session: LaravelSessionView) => void | Promise<void>): Promise<PhpArray> {
    const apply: SessionUpdater = async (data) => {
      await fn(new LaravelSessionView(data));
    };
    return this.store.update(this.idFromCookie(cookieValue), apply);
  }
}
