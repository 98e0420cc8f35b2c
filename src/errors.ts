/**
 * Every error sessctl throws on purpose is a SessctlError with a stable `code`, so callers
 * (and the CLI, which prints `sessctl: <message>` and picks the exit code) can tell them apart.
 */
export class SessctlError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bytes that are not valid serialize()/session data. `offset` is the byte offset of the fault. */
export class DecodeError extends SessctlError {
  constructor(
    message: string,
    readonly offset: number,
    /** Where the bytes came from (a file path, a Redis key), when known. */
    readonly source?: string,
  ) {
    super(`${source ? `${source}: ` : ''}${message} at byte offset ${offset}`, 'EDECODE');
  }
}

/** A value the chosen format cannot hold without losing data (nothing was written). */
export class EncodeError extends SessctlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'EENCODE', options);
  }

  /**
   * What an encoder throws when something that is not one of ours failed inside it: a value's
   * own code (a getter, a Proxy trap, a ClassRegistry mapping) or a value that only looks like
   * a type it is not (an object given a Map's or a Buffer's prototype). Ours pass through.
   */
  static from(err: unknown): SessctlError {
    if (err instanceof SessctlError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new EncodeError(`cannot encode this value: ${message}`, { cause: err });
  }
}

/** A bad setting: save_path, depth, mode, handler name, duration… */
export class ConfigError extends SessctlError {
  constructor(message: string) {
    super(message, 'ECONFIG');
  }
}

/** A session id PHP would refuse; checked before any path or key is built from it. */
export class InvalidSessionIdError extends SessctlError {
  constructor(
    readonly id: string,
    reason: string,
  ) {
    super(`invalid session id ${JSON.stringify(id.length > 80 ? id.slice(0, 80) + '…' : id)}: ${reason}`, 'EINVALIDID');
  }
}

/** The session lock was not had in time (another request holds it). */
export class LockTimeoutError extends SessctlError {
  constructor(
    readonly target: string,
    readonly timeoutMs: number,
  ) {
    super(`${target}: lock not acquired within ${timeoutMs} ms (held by another request)`, 'ELOCKTIMEOUT');
  }
}

/** A session file or directory problem (symlink, foreign owner, permissions…), naming the path. */
export class SessionFileError extends SessctlError {
  constructor(
    readonly path: string,
    message: string,
    code = 'ESESSIONFILE',
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${message}`, code, options);
  }
}

/**
 * The save path itself cannot be reached safely: a symlink on the way that neither root nor we
 * own (a tenant could point it at anyone's files), or a loop of links. `path` is the save path
 * as configured; the message names the component. The CLI treats it as a bad setting (exit 2).
 */
export class SavePathError extends SessionFileError {
  constructor(savePath: string, message: string, code: string, options?: { cause?: unknown }) {
    super(savePath, message, code, options);
    this.message = `save path ${savePath}: ${message}`;
  }
}

/** A backend (Redis) failure: connection lost, timeout, lock lost. */
export class BackendError extends SessctlError {
  constructor(message: string, code = 'EBACKEND', options?: { cause?: unknown }) {
    super(message, code, options);
  }
}
