import type { ServerResponse } from 'node:http';

type End = (...args: unknown[]) => ServerResponse;

/** What {@link writeBeforeEnd} runs when the handler ends the response. */
export interface EndHook {
  /** Set once the response's end has begun (the session is being written): 'close' handlers need it. */
  ending: boolean;
  /** The session write; undefined when it finished synchronously. */
  beforeEnd(): Promise<void> | undefined;
  /** The write failed (reported; the client gets a 500 if nothing was sent yet). */
  failed(err: unknown): void;
}

/**
 * Runs `hook.beforeEnd()` (the session write) when the handler ends the response, and lets
 * the response out only after it: the client's next request — to Node or to PHP — then sees
 * the write, as with PHP, which writes the session before the request is finished. When the
 * write fails and nothing was sent yet, the client gets a 500 instead of a success it did not
 * get. The hook is an object with methods rather than closures: this runs on every request,
 * and each closure is an allocation.
 */
export function writeBeforeEnd(res: ServerResponse, hook: EndHook): void {
  const originalEnd = res.end as unknown as End;
  res.end = function end(this: ServerResponse) {
    // `arguments` handed straight to apply() is not materialised; a rest array would be.
    // eslint-disable-next-line prefer-rest-params
    const args = arguments as unknown as unknown[];
    if (hook.ending) return originalEnd.apply(this, args);
    hook.ending = true;
    const headersWereSent = res.headersSent;
    let written: Promise<void> | undefined;
    try {
      written = hook.beforeEnd();
    } catch (err) {
      written = Promise.reject(err);
    }
    // Written synchronously (a file session with a free lock): the response goes out at once.
    if (written === undefined) return originalEnd.apply(res, args);
    const kept = Array.prototype.slice.call(args) as unknown[];
    written.then(
      () => originalEnd.apply(res, kept),
      (err: unknown) => {
        hook.failed(err);
        if (headersWereSent || res.headersSent) return void originalEnd.apply(res, kept);
        res.statusCode = 500;
        res.removeHeader('Content-Length');
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        const cb = kept.find((a) => typeof a === 'function');
        originalEnd.apply(res, cb ? ['Session could not be saved', cb] : ['Session could not be saved']);
      },
    );
    return this;
  } as typeof res.end;
}
