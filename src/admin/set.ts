/**
 * `sessctl set ID PATH JSON` / `sessctl unset ID PATH`: change one value inside one session,
 * under its lock, everything else kept byte for byte. The session is decoded, the one value
 * changed in place (through a PHP reference when the slot holds one, as `$_SESSION[…] = v`
 * does), and encoded again; the encoder writes unchanged parts exactly as they were, which
 * is checked first: a session whose bytes do not re-encode identically (not PHP's own
 * canonical form) is refused rather than silently rewritten in other places.
 */
import { ConfigError, SessctlError, SessionFileError } from '../errors.js';
import type { SerializeHandler } from '../codec/session.js';
import { canonicalKey, PhpArray, PhpObject, PhpReference, type PhpKey, type PhpValue } from '../codec/values.js';
import { loadCodec, type AdminCodec } from './codec-bridge.js';
import { decodeWith, otherHandlerHint } from './common.js';
import type { AdminSettings } from './settings.js';
import type { AdminSource, SessionEntry } from '../session/admin.js';
import { parsePhpJson } from './php-json.js';
import { parsePath } from './where/index.js';

export interface SetRequest {
  id: string;
  /** A path as `--where` writes one, without wildcards: `cart.items`, `user["full name"]`, `list[0]`. */
  path: string;
  /** The new value as JSON text (`set`); absent with `unset`. */
  json?: string;
  unset?: boolean;
  dryRun?: boolean;
  lockTimeoutMs?: number;
}

export type SetOutcome = 'changed' | 'would-change' | 'unchanged';

export interface SetResult {
  id: string;
  location: string;
  handler: SerializeHandler;
  outcome: SetOutcome;
  /** The value before and after, in the plain JSON view (`undefined` = not there). */
  before: unknown;
  after: unknown;
  /** The session's size before and after. */
  sizeBefore: number;
  sizeAfter: number;
}

type Slot = { container: PhpArray; key: PhpKey };

/**
 * An object's property table keyed by PHP's array-key rule, so that a path step finds a
 * property named by digits (`o[5]` or `o.5`): PHP keeps that name a string (`s:1:"5"`), which
 * the table holds as read; rekeyed to the int 5, the encoder writes it back as the same name.
 * In place, in order, and only when there is such a name (rekeying changes no byte).
 */
function propsByArrayKey(props: PhpArray): PhpArray {
  let rekey = false;
  for (const k of props.keys()) if (typeof k === 'string' && canonicalKey(k) !== k) rekey = true;
  if (!rekey) return props;
  const entries = [...props];
  props.clear();
  for (const [k, v] of entries) props.set(k, v);
  return props;
}

/** Walks to the parent of the last step; creates missing arrays on the way when `create`. */
function locate(root: PhpArray, steps: string[], create: boolean, pathText: string): Slot | null {
  let container: PhpArray = root;
  for (let i = 0; i < steps.length - 1; i++) {
    let v: PhpValue | undefined = container.get(steps[i]!);
    let holder: PhpReference | null = null;
    while (v instanceof PhpReference) {
      holder = v;
      v = v.value;
    }
    if (v === undefined || v === null) {
      if (!create) return null;
      // PHP's `$_SESSION['a']['b'] = 1` makes the missing (or null) 'a' an array.
      const made = new PhpArray();
      if (holder) holder.value = made;
      else container.set(steps[i]!, made);
      container = made;
    } else if (v instanceof PhpArray) container = v;
    else if (v instanceof PhpObject) {
      // Only public properties: a protected/private one has a mangled name PHP code sets from inside its class.
      container = propsByArrayKey(v.props);
    } else {
      throw new ConfigError(`${pathText}: ${steps.slice(0, i + 1).join('.')} is a ${typeof v === 'string' ? 'string' : typeof v === 'number' || typeof v === 'bigint' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'scalar'}, not an array: there is nothing inside it to change`);
    }
  }
  return { container, key: steps[steps.length - 1]! };
}

function plainOf(codec: AdminCodec, v: PhpValue | undefined): unknown {
  return v === undefined ? undefined : codec.toPlain(v, { json: true });
}

/**
 * Sets (or with `unset`, removes) one value inside one session, under the backend's exclusive
 * lock (`dryRun`: a shared lock, nothing written); the mtime / TTL is kept.
 * @throws InvalidSessionIdError; ConfigError for a bad path or JSON, or a path through a scalar;
 *   SessionFileError ENOSESSION when the session does not exist; DecodeError when it does not
 *   decode; SessctlError ENONCANONICAL when its bytes would not re-encode identically; LockTimeoutError.
 */
export async function setSessionValue(source: AdminSource, settings: AdminSettings, request: SetRequest): Promise<SetResult> {
  source.validateId(request.id);
  const label = request.unset ? 'unset PATH' : 'set PATH';
  const steps = parsePath(request.path, label).map((s) => s.key);
  const codec = await loadCodec();
  let newValue: PhpValue | undefined;
  if (!request.unset) {
    if (request.json === undefined) throw new ConfigError('set: a JSON value is needed (unset removes a value)');
    try {
      newValue = parsePhpJson(request.json);
    } catch (err) {
      throw new ConfigError(`set JSON: ${JSON.stringify(request.json.length > 60 ? request.json.slice(0, 60) + '…' : request.json)} is not JSON PHP reads (${(err as Error).message}); quote strings: '"text"'`);
    }
  }
  let result: SetResult | null = null;
  const change = (entry: SessionEntry & { bytes: Uint8Array }): Uint8Array | null => {
    const r = decodeWith(codec, settings, entry);
    if (!r.data || !r.handler) {
      const hint = otherHandlerHint(r, settings.serializeHandler);
      throw hint ? new SessctlError(`${r.error!.message}; ${hint}`, 'EDECODE') : r.error!;
    }
    const again = codec.encodeSession(r.data, r.handler);
    if (!again.equals(Buffer.from(entry.bytes.buffer, entry.bytes.byteOffset, entry.bytes.byteLength))) {
      throw new SessctlError(`${entry.location}: its bytes are not what PHP's ${r.handler} handler would write for the same data, so writing it back would change more than ${request.path}; left as it is`, 'ENONCANONICAL');
    }
    const slot = locate(r.data, steps, !request.unset, request.path);
    let held = slot ? slot.container.get(slot.key) : undefined;
    const ref = held instanceof PhpReference ? held : null;
    while (held instanceof PhpReference) held = held.value;
    const before = plainOf(codec, held);
    if (slot) {
      if (request.unset) slot.container.delete(slot.key);
      else if (ref) {
        let target = ref;
        while (target.value instanceof PhpReference) target = target.value;
        target.value = newValue!;
      } else slot.container.set(slot.key, newValue!);
    }
    const bytes = slot ? codec.encodeSession(r.data, r.handler) : again;
    const unchanged = bytes.equals(again);
    // What PHP could not read back it destroys (a path nested past unserialize_max_depth, …):
    // the new bytes must decode as PHP decodes them, or nothing is written.
    if (!unchanged) {
      try {
        codec.decodeSession(bytes, r.handler);
      } catch (err) {
        const shown = request.path.length > 80 ? `${request.path.slice(0, 80)}…` : request.path;
        throw new ConfigError(`${request.unset ? 'unset' : 'set'} ${shown}: the session would be one PHP cannot read (${(err as Error).message}), and PHP destroys such a session; nothing written`);
      }
    }
    result = {
      id: entry.id,
      location: entry.location,
      handler: r.handler,
      outcome: unchanged ? 'unchanged' : request.dryRun ? 'would-change' : 'changed',
      before,
      after: request.unset ? undefined : plainOf(codec, newValue),
      sizeBefore: entry.bytes.length,
      sizeAfter: bytes.length,
    };
    return unchanged || request.dryRun ? null : bytes;
  };
  const lockTimeoutMs = request.lockTimeoutMs ?? 10_000;
  if (request.dryRun) {
    const entry = await source.lockedRead(request.id, lockTimeoutMs);
    if (!entry) throw new SessionFileError(request.id, `no such session in ${source.description}`, 'ENOSESSION');
    if (!entry.bytes) throw new SessionFileError(entry.location, `is ${entry.size} bytes, above the size limit (maxBytes); not read`, 'ETOOBIG');
    change(entry as SessionEntry & { bytes: Uint8Array });
  } else {
    const outcome = await source.rewrite(request.id, change, { lockTimeoutMs });
    if (outcome === 'missing') throw new SessionFileError(request.id, `no such session in ${source.description}`, 'ENOSESSION');
  }
  return result!;
}
