/**
 * The php.ini `session.*` settings every backend takes: one vocabulary, one set of
 * defaults, one validation. Backends call {@link resolveSessionSettings} in their
 * constructors, so a rule (a range, a default) can only differ between backends by being
 * written down in that backend's own options, never by drift.
 */
import { SERIALIZE_HANDLERS, type DecodeOptions, type EncodeOptions, type SerializeHandler } from '../codec/index.js';
import { ConfigError } from '../errors.js';
import { checkSidSettings, type SidBitsPerCharacter } from './session-id.js';

/** The settings every store takes, with PHP's names. */
export interface SessionSettings {
  /** `session.serialize_handler`; default `php`. */
  serializeHandler?: SerializeHandler;
  /**
   * `session.gc_maxlifetime` in seconds, 1..2147483647 (default 1440): the key's TTL for
   * Redis and Memcached; for files, what gc collects (a read never expires a session, as in PHP).
   */
  gcMaxlifetime?: number;
  /** `session.lazy_write` (default true): unchanged data only touches the mtime / refreshes the TTL. */
  lazyWrite?: boolean;
  /**
   * `session.use_strict_mode`: `start()` and the middleware never adopt an id the client
   * made up. Default **true** here (php.ini's default is 0): adopting any well-formed id is
   * session fixation, and lets clients create sessions without limit. `open()` always opens
   * the id it is given.
   */
  useStrictMode?: boolean;
  /** `session.sid_length` (default 32) and `session.sid_bits_per_character` (default 4) for new ids. */
  sidLength?: number;
  sidBitsPerCharacter?: SidBitsPerCharacter;
  /** How long open()/update()/destroy() wait for the session's lock (default 30000 ms). */
  lockTimeoutMs?: number;
  /** Passed to the decoder (a ClassRegistry, limits…); `source` is set to the session's location. */
  decodeOptions?: Omit<DecodeOptions, 'source'>;
  /** Passed to the encoder (the same ClassRegistry, so mapped instances can be written back). */
  encodeOptions?: EncodeOptions;
  /**
   * Refuse stored sessions larger than this instead of reading them (default 32 MiB: decoding
   * takes up to ~30 times the stored size in memory, so a 256 MiB session of tiny values would
   * exhaust Node's heap; PHP sessions are kilobytes).
   */
  maxBytes?: number;
  /**
   * `session.gc_probability` / `session.gc_divisor` (PHP's defaults 1 / 100): on a session
   * start, collect expired sessions with this probability. Only backends that have
   * something to collect (files) act on it; key-value stores expire keys themselves.
   */
  gcProbability?: number;
  gcDivisor?: number;
}

/** {@link SessionSettings} with every default filled in and checked. */
export type ResolvedSessionSettings = Required<Omit<SessionSettings, 'decodeOptions' | 'encodeOptions'>> &
  Pick<SessionSettings, 'decodeOptions' | 'encodeOptions'>;

export const SESSION_DEFAULTS = Object.freeze({
  serializeHandler: 'php' as SerializeHandler,
  gcMaxlifetime: 1440,
  lazyWrite: true,
  useStrictMode: true,
  sidLength: 32,
  sidBitsPerCharacter: 4 as SidBitsPerCharacter,
  lockTimeoutMs: 30000,
  maxBytes: 32 * 1024 * 1024,
  gcProbability: 1,
  gcDivisor: 100,
});

const INT_MAX = 2147483647;

function wholeNumber(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number in ${min}..${max}, got ${String(value)}`);
  }
  return value;
}

function flag(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new ConfigError(`${name} must be true or false, got ${String(value)}`);
  return value;
}

/**
 * Fills in the defaults and validates every shared setting.
 * @throws ConfigError naming the setting (as `<who>: <setting> …`) when a value is out of range.
 */
export function resolveSessionSettings(options: SessionSettings, who: string): ResolvedSessionSettings {
  const o = { ...SESSION_DEFAULTS, ...dropUndefined(options) };
  try {
    if (!SERIALIZE_HANDLERS.includes(o.serializeHandler)) {
      throw new ConfigError(`serializeHandler ${JSON.stringify(o.serializeHandler)} is not one of ${SERIALIZE_HANDLERS.join(', ')}`);
    }
    wholeNumber('gcMaxlifetime (session.gc_maxlifetime)', o.gcMaxlifetime, 1, INT_MAX);
    flag('lazyWrite', o.lazyWrite);
    flag('useStrictMode', o.useStrictMode);
    checkSidSettings(o.sidLength, o.sidBitsPerCharacter);
    if (typeof o.lockTimeoutMs !== 'number' || !(o.lockTimeoutMs >= 0)) throw new ConfigError(`lockTimeoutMs must be a duration in ms ≥ 0, got ${String(o.lockTimeoutMs)}`);
    wholeNumber('maxBytes', o.maxBytes, 1, Number.MAX_SAFE_INTEGER);
    wholeNumber('gcProbability (session.gc_probability)', o.gcProbability, 0, INT_MAX);
    wholeNumber('gcDivisor (session.gc_divisor)', o.gcDivisor, 1, INT_MAX);
  } catch (err) {
    throw new ConfigError(`${who}: ${(err as Error).message}`);
  }
  return o;
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
