import type { ServerResponse } from 'node:http';

type End = (...args: unknown[]) => ServerResponse;

/**
 * Runs `beforeEnd` (the session write; undefined when it finished synchronously) when the
 * handler ends the response, and lets the response out only after it: the client's next request — to Node or to PHP — then sees the
 * write, as with PHP, which writes the session before the request is finished. When the write
 * fails and nothing was sent yet, the client gets a 500 instead of a success it did not get.
 * @returns a function telling whether the end has begun (the 'close' handlers need it).
 */
export function writeBeforeEnd(res: ServerResponse, beforeEnd: () => Promise<void> | undefined, onError: (err: unknown) => void): () => boolean {
  let ending = false;
  const originalEnd = res.end as unknown as End;
  res.end = function end(this: ServerResponse, ...args: unknown[]) {
    if (ending) return originalEnd.apply(this, args);
    ending = true;
    const headersWereSent = res.headersSent;
    let written: Promise<void> | undefined;
    try {
      written = beforeEnd();
    } catch (err) {
      written = Promise.reject(err);
    }
    // Written synchronously (a file session with a free lock): the response goes out at once.
    if (written === undefined) return originalEnd.apply(res, args);
    written.then(
      () => originalEnd.apply(res, args),
      (err: unknown) => {
        onError(err);
        if (headersWereSent || res.headersSent) return void originalEnd.apply(res, args);
        res.statusCode = 500;
        res.removeHeader('Content-Length');
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        const cb = args.find((a) => typeof a === 'function');
        originalEnd.apply(res, cb ? ['Session could not be saved', cb] : ['Session could not be saved']);
      },
    );
    return this;
  } as typeof res.end;
  return () => ending;
}
