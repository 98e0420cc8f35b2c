import { ServerResponse } from 'node:http';

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

/*
 * Where the hook lives. Adding a property to a response object (an own `end`) measured
 * ~1.7 KB of allocation and several µs per request: Node's responses do not share hidden
 * classes, so every addition builds a new one. So node:http's responses are hooked once, at
 * ServerResponse.prototype.end, and each response's hook is looked up in a WeakMap (no
 * allocation per entry that showed). Responses without a hook pass straight through. Express
 * sub-apps swap a response's prototype, but every one of theirs inherits from
 * ServerResponse.prototype, so the hook still runs. Anything else — a response that is no
 * ServerResponse, or whose `end` is already overridden on the object or a prototype between
 * (another middleware's wrapper), or a second hook on one response — gets an own `end` wrapper
 * as before.
 */
const HOOKS = new WeakMap<ServerResponse, EndHook>();
/** The prototype's hook; null when it could not be installed (tried once); undefined before the first try. */
let hookedEnd: End | null | undefined;

function installPrototypeHook(): End | null {
  const proto = ServerResponse.prototype as unknown as { end: End };
  const own = Object.getOwnPropertyDescriptor(proto, 'end');
  if (own && (typeof own.value !== 'function' || !own.writable)) return null;
  const previous = own?.value as End | undefined;
  const parent = Object.getPrototypeOf(proto) as { end: End };
  const end = function end(this: ServerResponse) {
    // Resolved per call, so that a later patch of OutgoingMessage.prototype.end (an APM agent's) still runs.
    const next = previous ?? parent.end;
    const hook = HOOKS.get(this);
    // eslint-disable-next-line prefer-rest-params
    if (hook === undefined) return next.apply(this, arguments as unknown as unknown[]);
    HOOKS.delete(this);
    // eslint-disable-next-line prefer-rest-params
    return runHook(this, hook, next, arguments as unknown as unknown[]);
  } as End;
  try {
    Object.defineProperty(proto, 'end', { value: end, writable: true, configurable: true, enumerable: own?.enumerable ?? false });
  } catch {
    return null; // a frozen prototype: own wrappers it is
  }
  return end;
}

/**
 * Runs `hook.beforeEnd()` (the session write) when the handler ends the response, and lets
 * the response out only after it: the client's next request — to Node or to PHP — then sees
 * the write, as with PHP, which writes the session before the request is finished. When the
 * write fails and nothing was sent yet, the client gets a 500 instead of a success it did not
 * get.
 */
export function writeBeforeEnd(res: ServerResponse, hook: EndHook): void {
  if (hookedEnd === undefined) hookedEnd = installPrototypeHook();
  if (hookedEnd !== null && res.end === hookedEnd && !HOOKS.has(res)) {
    HOOKS.set(res, hook);
    return;
  }
  const originalEnd = res.end as unknown as End;
  res.end = function end(this: ServerResponse) {
    // eslint-disable-next-line prefer-rest-params
    const args = arguments as unknown as unknown[];
    if (hook.ending) return originalEnd.apply(this, args);
    return runHook(this, hook, originalEnd, args);
  } as typeof res.end;
}

function runHook(res: ServerResponse, hook: EndHook, end: End, args: unknown[]): ServerResponse {
  hook.ending = true;
  const headersWereSent = res.headersSent;
  let written: Promise<void> | undefined;
  try {
    written = hook.beforeEnd();
  } catch (err) {
    written = Promise.reject(err);
  }
  // Written synchronously (a file session with a free lock): the response goes out at once.
  if (written === undefined) return end.apply(res, args);
  // `arguments` is only valid during the call: keep a copy for later.
  const kept = Array.prototype.slice.call(args) as unknown[];
  written.then(
    () => end.apply(res, kept),
    (err: unknown) => {
      hook.failed(err);
      if (headersWereSent || res.headersSent) return void end.apply(res, kept);
      res.statusCode = 500;
      res.removeHeader('Content-Length');
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      const cb = kept.find((a) => typeof a === 'function');
      end.apply(res, cb ? ['Session could not be saved', cb] : ['Session could not be saved']);
    },
  );
  return res;
}
