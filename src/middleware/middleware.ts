/**
 * The PHP-session middleware for Express/Connect and plain node:http: one locked
 * session per request, written back before the response ends, the lock released on
 * every path (end, error, client disconnect, hold timeout).
 */
import { ServerResponse, type IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { DecodeError, LockTimeoutError, SessctlError } from '../errors.js';
import type { SessionHandle } from '../session/contract.js';
import { openClientSession } from '../session/start.js';
import { readCookie, sendCacheLimiter, sessionCookie, setCookieHeader } from './cookies.js';
import { writeBeforeEnd, type EndHook } from './end-hook.js';
import { gcAfterResponse } from './gc.js';
import { HoldLimit } from './hold-limit.js';
import { resolveOptions, type PhpSessionErrorInfo, type PhpSessionOptions, type ResolvedOptions } from './options.js';
import { setRequestValue } from './request-slot.js';
import { PhpSession } from './session.js';

declare module 'node:http' {
  interface IncomingMessage {
    /**
     * The PHP session opened by sessctl's phpSession() / attachPhpSession() (default property
     * name). Typed as always present, like express-session's `req.session`: it is there in
     * every handler mounted after the middleware (and undefined anywhere else).
     */
    phpSession: PhpSession;
  }
}

/** A Connect/Express middleware that also offers the plain node:http entry points. */
export interface PhpSessionMiddleware {
  (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void;
  /** Opens the session for a plain node:http request (see {@link attachPhpSession}). */
  attach(req: IncomingMessage, res: ServerResponse): Promise<PhpSession>;
  /** Wraps a plain node:http handler (see {@link withPhpSession}). */
  wrap(handler: PhpSessionHandler): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

export type PhpSessionHandler = (req: IncomingMessage, res: ServerResponse, session: PhpSession) => unknown;

/**
 * Express/Connect middleware: opens the request's PHP session under PHP's lock and puts
 * it on `req.phpSession`. Errors opening it (LockTimeoutError, backend failures) go to
 * `next(err)`.
 * @throws ConfigError at once for bad options.
 */
export function phpSession(options: PhpSessionOptions): PhpSessionMiddleware {
  const resolved = prepare(options);
  const proceed = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void, session: PhpSession) => {
    let result: unknown;
    try {
      result = next();
    } catch (err) {
      void failRequest(req, res, session, err, resolved);
      return;
    }
    if (result && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(undefined, (err: unknown) => void failRequest(req, res, session, err, resolved));
    }
  };
  const middleware = ((req, res, next) => {
    // An uncontended file session opens synchronously: the request goes on without a promise.
    const now = startSessionNow(req, res, resolved);
    if (now) return proceed(req, res, next, now);
    // null: the client's id names no session, which the promise path need not look up again.
    startSession(req, res, resolved, now === null).then(
      (session) => proceed(req, res, next, session),
      (err: unknown) => next(err),
    );
  }) as PhpSessionMiddleware;
  middleware.attach = (req, res) => startSession(req, res, resolved);
  middleware.wrap = (handler) => wrapHandler(handler, resolved);
  return middleware;
}

/**
 * For plain node:http: opens the request's session (and hooks the response so it is
 * written and unlocked when the response ends or the client goes away).
 * @throws LockTimeoutError when PHP (or another request) holds the lock too long.
 * @throws ConfigError for bad options; BackendError / SessionFileError from the backend.
 */
export function attachPhpSession(req: IncomingMessage, res: ServerResponse, options: PhpSessionOptions): Promise<PhpSession> {
  return startSession(req, res, prepare(options));
}

/**
 * For plain node:http: `http.createServer(withPhpSession(opts, async (req, res, session) => …))`.
 * A handler that throws gets a 500 (if nothing was sent yet) and the session is written
 * and unlocked, as PHP writes the session of a script that died; a lock timeout is a 503.
 * @throws ConfigError at once for bad options.
 */
export function withPhpSession(options: PhpSessionOptions, handler: PhpSessionHandler): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return wrapHandler(handler, prepare(options));
}

function wrapHandler(handler: PhpSessionHandler, options: Prepared) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let session: PhpSession;
    try {
      session = await startSession(req, res, options);
    } catch (err) {
      report(options, err, { phase: 'open', req });
      sendError(res, err instanceof LockTimeoutError ? 503 : 500, err instanceof LockTimeoutError ? 'Session busy' : 'Session unavailable');
      return;
    }
    try {
      await handler(req, res, session);
    } catch (err) {
      await failRequest(req, res, session, err, options);
    }
  };
}

async function failRequest(req: IncomingMessage, res: ServerResponse, session: PhpSession, err: unknown, options: Prepared) {
  report(options, err, { phase: 'handler', id: session.id, req });
  try {
    await session.release(true);
  } catch (saveErr) {
    report(options, saveErr, { phase: 'save', id: session.id, req });
  }
  sendError(res, 500, 'Internal Server Error');
}

function sendError(res: ServerResponse, status: number, text: string) {
  if (res.writableEnded || res.destroyed) return;
  if (res.headersSent) {
    res.end();
    return;
  }
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.removeHeader('Content-Length');
  res.end(text);
}

function report(options: ResolvedOptions, err: unknown, info: PhpSessionErrorInfo) {
  const error = err instanceof Error ? err : new Error(String(err));
  const hook = info.phase === 'corrupt' ? options.onCorrupt : options.onError;
  try {
    hook?.(error, info);
  } catch {
    // A failing hook must not break the lock release it reports on.
  }
  options.logger?.warn(`sessctl phpSession (${info.phase}${info.id ? `, session ${info.id}` : ''}): ${error.message}`);
}

/**
 * The id the client sent: the cookie first, then (only with useOnlyCookies=false) the query
 * string, as php_session_start() looks: a cookie of that name, even an empty one, is the id
 * (empty: a new one is made), and of several `?name=` the last wins, as in `$_GET`.
 */
function clientId(req: IncomingMessage, options: ResolvedOptions): string | undefined {
  const fromCookie = readCookie(req.headers.cookie, options.name);
  if (fromCookie !== undefined || options.useOnlyCookies) return fromCookie || undefined;
  const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
  try {
    return new URL(url, 'http://localhost').searchParams.getAll(options.name).pop() || undefined;
  } catch {
    return undefined;
  }
}

/** The options of one middleware, with what its requests share. */
interface Prepared extends ResolvedOptions {
  /** What every open() of this middleware is given. */
  openOptions: { lockTimeoutMs: number | undefined; readAndClose: boolean };
  /** maxLockHoldMs for all its requests (one timer). */
  holds: HoldLimit<RequestHold>;
  /** report() bound to these options (for gc, made once rather than per request). */
  reportProblem: (err: Error, info: PhpSessionErrorInfo) => void;
  /** The sessions being started under this middleware's property, by request (see startingFor). */
  starting: WeakMap<IncomingMessage, Promise<PhpSession>>;
}

function prepare(options: PhpSessionOptions): Prepared {
  const resolved = resolveOptions(options);
  return {
    ...resolved,
    openOptions: { lockTimeoutMs: resolved.lockTimeoutMs, readAndClose: resolved.readAndClose },
    holds: new HoldLimit<RequestHold>(resolved.maxLockHoldMs, (hold) => holdExpired(hold, resolved)),
    reportProblem: (err, info) => report(resolved, err, info),
    starting: startingFor(resolved.property),
  };
}

// The promise of a session being started (the promise path only), per property name: the same
// name mounted twice shares it (one session, one lock), while two middlewares with their own
// names (and backends) each start their own. In a WeakMap rather than on the request: a
// property added to a node:http request builds it a new hidden class (see request-slot.ts).
const startingByProperty = new Map<string, WeakMap<IncomingMessage, Promise<PhpSession>>>();
function startingFor(property: string): WeakMap<IncomingMessage, Promise<PhpSession>> {
  let starting = startingByProperty.get(property);
  if (!starting) startingByProperty.set(property, (starting = new WeakMap()));
  return starting;
}

/**
 * The session this middleware already started for `req`, or the promise of the one being
 * started: mounting the middleware twice (or attach after the middleware) must not lock twice,
 * which would deadlock. A session opened at once is found under its property alone (see
 * request-slot.ts: on node:http requests that adds nothing to the request object).
 */
function alreadyStarted(req: IncomingMessage, options: Prepared): Promise<PhpSession> | PhpSession | undefined {
  const own = (req as unknown as Record<string, unknown>)[options.property];
  return own instanceof PhpSession ? own : options.starting.get(req);
}

function startSession(req: IncomingMessage, res: ServerResponse, options: Prepared, noClientSession = false): Promise<PhpSession> {
  const started = alreadyStarted(req, options);
  if (started instanceof PhpSession) return Promise.resolve(started);
  if (started) return started;
  const opening = openForRequest(req, res, options, noClientSession);
  options.starting.set(req, opening);
  return opening;
}

/**
 * The request's session when it can be opened at once — strict mode, the client's id stored,
 * and the backend able to lock and read it synchronously (files, lock free). Null when the
 * client's id names no session (none sent, invalid, or not stored: a new one is to be made);
 * undefined when this cannot tell at once. Either way nothing is taken: startSession() then
 * does the rest.
 */
function startSessionNow(req: IncomingMessage, res: ServerResponse, options: Prepared): PhpSession | null | undefined {
  const { backend } = options;
  if (!backend.openExistingNow || !options.useStrictMode || options.readAndClose || alreadyStarted(req, options)) return undefined;
  const id = clientId(req, options);
  if (id === undefined || !backend.isValidId(id)) return null;
  let handle: SessionHandle | null | undefined;
  try {
    handle = backend.openExistingNow(id, options.openOptions);
  } catch {
    return undefined; // startSession() opens it again and handles the error (corrupt: a fresh session)
  }
  return handle && sessionFor(req, res, handle, false, options);
}

/** The promise path of a session start; `noClientSession` when startSessionNow() already found none. */
async function openForRequest(req: IncomingMessage, res: ServerResponse, options: Prepared, noClientSession: boolean): Promise<PhpSession> {
  const { backend, openOptions } = options;
  let handle: SessionHandle | null = null;
  try {
    if (!noClientSession) handle = await openClientSession(backend, clientId(req, options), options.useStrictMode, openOptions);
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    // PHP deletes an undecodable session; we keep it for inspection and start afresh.
    report(options, err, { phase: 'corrupt', id: clientId(req, options), req });
  }
  const isNew = handle === null;
  if (!handle) handle = await backend.open(await backend.createId(), openOptions);
  if (options.readAndClose) await handle.close();
  return sessionFor(req, res, handle, isNew, options);
}

/** The request's session on an opened handle: cookie and cache headers, the property, the end hooks, gc's draw. */
function sessionFor(req: IncomingMessage, res: ServerResponse, handle: SessionHandle, isNew: boolean, options: Prepared): PhpSession {
  const session = new PhpSession(handle, res, options, isNew || handle.isNew);
  if (!res.headersSent) {
    // PHP sends the cookie only when it made the id; an id the client sent is not re-sent.
    if (isNew) setCookieHeader(res, options.name, sessionCookie(options.name, session.id, options.cookie));
    sendCacheLimiter(res, options.cacheLimiter, options.cacheExpire);
  }
  setRequestValue(req, options.property, session);
  // Found under its property from now on: the entry would only keep the session's promise alive.
  options.starting.delete(req);
  if (!options.readAndClose) hookResponse(req, res, session, options);
  // PHP draws after the read, read_and_close included; the collection waits for the response.
  gcAfterResponse(req, res, options, options.reportProblem);
  return session;
}

/**
 * One request's hold on its session's lock: watched by the hold limit, and the end hook
 * that writes the session before the response goes out (methods, not per-request closures).
 */
class RequestHold implements EndHook {
  heldSince = 0;
  ending = false;
  /** The not-yet-ended holds of its socket, this one among them (see watchClose); null when watched on the response. */
  socketHolds: Set<RequestHold> | null = null;

  constructor(
    readonly req: IncomingMessage,
    readonly session: PhpSession,
    readonly options: Prepared,
  ) {}

  beforeEnd(): Promise<void> | undefined {
    const { session, options } = this;
    options.holds.delete(this);
    this.socketHolds?.delete(this);
    // A session already written (session_write_close) or destroyed has nothing to write: no 500 then.
    if (session.status === 'active') return session.releaseNow() ? undefined : session.release(true);
    return session.release(true).catch((err: unknown) => report(options, err, { phase: 'save', id: session.id, req: this.req }));
  }

  failed(err: unknown): void {
    report(this.options, err, { phase: 'save', id: this.session.id, req: this.req });
  }

  /** The response (or its socket) closed: if it never ended, the client went away. */
  closed(): void {
    const { session, options } = this;
    options.holds.delete(this);
    this.socketHolds?.delete(this);
    if (this.ending || session.status !== 'active') return;
    // Released without writing, since the handler may be half-way through its changes.
    report(options, new SessctlError('client disconnected before the response ended; session not written', 'EABORTED'), {
      phase: 'abort',
      id: session.id,
      req: this.req,
    });
    releaseUnwritten(this, options);
  }
}

/**
 * Writes the session before the response is let out (so the client's next request, to
 * Node or PHP, sees it), and releases the lock when the client goes away or the hold
 * limit passes.
 */
function hookResponse(req: IncomingMessage, res: ServerResponse, session: PhpSession, options: Prepared) {
  const hold = new RequestHold(req, session, options);
  writeBeforeEnd(res, hold);
  options.holds.add(hold);
  watchClose(req, res, hold); // last: it may find the client gone already and let the hold go
}

/**
 * The holds of a socket's requests that have not ended yet. A node:http response that closes
 * before it ended does so because its socket closed (the client went away, or res.destroy()
 * destroyed it), so one 'close' listener per keep-alive socket does what a listener and a
 * closure on every response did, for a fraction of the cost per request.
 */
const SOCKET_HOLDS = new WeakMap<Socket, Set<RequestHold>>();

function watchClose(req: IncomingMessage, res: ServerResponse, hold: RequestHold): void {
  const socket = req.socket;
  if (res.destroyed || (socket instanceof Socket && socket.destroyed)) {
    // The client went away while the session was being opened (waiting for PHP's lock): the
    // 'close' was emitted before anyone listened and will not come again, so without this the
    // lock stayed until the handler ended the response, or for maxLockHoldMs.
    hold.closed();
    return;
  }
  if (!(res instanceof ServerResponse) || !(socket instanceof Socket)) {
    res.on('close', () => hold.closed()); // not node:http's: the response's own event
    return;
  }
  let holds = SOCKET_HOLDS.get(socket);
  if (holds === undefined) {
    const set = (holds = new Set());
    SOCKET_HOLDS.set(socket, set);
    socket.once('close', () => {
      for (const h of set) h.closed();
    });
  }
  holds.add(hold);
  hold.socketHolds = holds;
}

function holdExpired(hold: RequestHold, options: ResolvedOptions): void {
  hold.socketHolds?.delete(hold); // released here: its socket's close has nothing left to do for it
  if (hold.ending || hold.session.status !== 'active') return;
  report(
    options,
    new SessctlError(`request held the session lock longer than ${options.maxLockHoldMs} ms; released without writing`, 'ELOCKHELD'),
    { phase: 'timeout', id: hold.session.id, req: hold.req },
  );
  releaseUnwritten(hold, options);
}

function releaseUnwritten(hold: RequestHold, options: ResolvedOptions): void {
  hold.session.release(false).catch((err: unknown) => report(options, err, { phase: 'close', id: hold.session.id, req: hold.req }));
}
