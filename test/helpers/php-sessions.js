// Sessions written by real PHP for the content tests (--where, set/unset), on files or Redis,
// and a PHP request holding one session open until told to finish (stdin hand-shake).
import { phpUntilReleased, runPhp } from './env.js';

/** The ini flags that point PHP at a save handler and path. */
export function phpIni({ saveHandler = 'files', savePath, serializeHandler = 'php' }) {
  // phpredis locks only when asked to; PHP's files handler always does.
  const locking = saveHandler === 'files' ? [] : ['-d', 'redis.session.locking_enabled=1', '-d', 'redis.session.lock_expire=60', '-d', 'redis.session.lock_retries=-1', '-d', 'redis.session.lock_wait_time=1000'];
  return [...locking, '-d', `session.save_handler=${saveHandler}`, '-d', `session.save_path="${savePath}"`, '-d', `session.serialize_handler=${serializeHandler}`, '-d', 'session.use_strict_mode=0', '-d', 'session.use_cookies=0', '-d', 'session.cache_limiter='];
}

/**
 * PHP writes each session: `sessions` maps id → a PHP expression for $_SESSION (an array literal).
 */
export function phpWriteSessions(ini, sessions) {
  const code = Object.entries(sessions)
    .map(([id, expr]) => `session_id(${JSON.stringify(id)}); session_start(); $_SESSION = ${expr}; session_write_close();`)
    .join('\n');
  runPhp([...phpIni(ini), '-r', code]);
}

/** What PHP reads back for `id`, as JSON (objects as arrays of their public properties). */
export function phpReadSession(ini, id) {
  return JSON.parse(runPhp([...phpIni(ini), '-r', `session_id(${JSON.stringify(id)}); session_start(); echo json_encode($_SESSION); session_write_close();`]).toString());
}

/**
 * PHP (run with `args`) opens `id`, taking its lock, and keeps it until `release()`, then runs
 * `code` and writes the session; `ready` resolves once it holds the session, `done` with its
 * exit code and stderr — an explicit hand-shake, never a sleep.
 */
export function phpHoldWith(args, id, code = '') {
  const script = `session_id($argv[1]); session_start(); echo "HOLDING\\n"; fgets(STDIN); ${code} session_write_close();`;
  return phpUntilReleased([...args, '-r', script, id]);
}

/** PHP with these session settings holds `id` until `release()` (see phpHoldWith). */
export function phpHold(ini, id) {
  return phpHoldWith(phpIni(ini), id);
}
