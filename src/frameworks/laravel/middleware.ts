/**
 * laravelSession(): an Express/Connect middleware that gives each request the Laravel session
 * its encrypted cookie points at, as Laravel would see it (`req.laravelSession`, a
 * LaravelSessionView, or null when the cookie is missing, does not verify, or has no session).
 * Read-only unless `write: true`: then the session is opened under the store's lock for the
 * request and saved before the response is let out (flash data is aged only with `ageFlash: true`,
 * since a Node API call is usually not the "next request" a flash message waits for).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SessionHandle } from '../../session/contract.js';
import { readCookie } from '../../middleware/cookies.js';
import { writeBeforeEnd, type EndHook } from '../../middleware/end-hook.js';
import { LaravelSessions, type LaravelSessionsOptions } from './sessions.js';
import { LaravelSessionView } from './session.js';

declare module 'node:http' {
  interface IncomingMessage {
    /** The Laravel session laravelSession() found for this request (null: no valid cookie). */
    laravelSession?: LaravelSessionView | null;
    /** Its id. */
    laravelSessionId?: string;
  }
}

export interface LaravelSessionOptions extends LaravelSessionsOptions {
  /** Open the session under the lock and save it at the end of the response. Default false. */
  write?: boolean;
  /** With `write`: age flash data as Laravel's Store::save() does. Default false. */
  ageFlash?: boolean;
  /**
   * With `write`: told when the session could not be saved at the end of the request (the
   * client then gets a 500 when nothing was sent yet). Default: a console warning.
   */
  onError?: (err: unknown) => void;
}

export type LaravelRequest = IncomingMessage & { laravelSession?: LaravelSessionView | null; laravelSessionId?: string };

/** @throws ConfigError at creation for a bad APP_KEY or cipher. */
export function laravelSession(options: LaravelSessionOptions) {
  const sessions = new LaravelSessions(options);
  return async (req: LaravelRequest, res: ServerResponse, next: (err?: unknown) => void): Promise<void> => {
    req.laravelSession = null;
    const cookie = readCookie(req.headers.cookie, sessions.cookieName);
    let id: string;
    try {
      if (cookie === undefined) return next();
      id = sessions.idFromCookie(cookie);
    } catch {
      return next(); // a cookie that does not verify is no session (Laravel ignores it too)
    }
    try {
      req.laravelSessionId = id;
      if (!options.write) {
        const data = await sessions.store.read(id);
        req.laravelSession = data ? new LaravelSessionView(data) : null;
        return next();
      }
      const handle: SessionHandle = await sessions.store.open(id);
      req.laravelSession = new LaravelSessionView(handle.data);
      // Written before the response is let out, so the client's next request sees it.
      const hook: EndHook = {
        ending: false,
        beforeEnd: async () => {
          try {
            if (options.ageFlash) req.laravelSession?.ageFlashData();
            await handle.save();
          } finally {
            await handle.close();
          }
        },
        failed: (err) => (options.onError ?? ((e: unknown) => console.warn(`sessctl laravelSession: the session was not saved: ${(e as Error)?.message ?? String(e)}`)))(err),
      };
      writeBeforeEnd(res, hook);
      res.once('close', () => {
        if (!hook.ending) void handle.close(); // the client went away: nothing is written
      });
      next();
    } catch (err) {
      next(err);
    }
  };
}
