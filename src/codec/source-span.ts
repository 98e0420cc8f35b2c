/**
 * Source reuse: an array decoded from canonical bytes remembers where they were, so encoding
 * it again, unchanged, copies those bytes instead of walking it.
 *
 * Sessions are read, touched in a key or two and written back; without this every write
 * re-encodes every array. With it only the arrays on the path to a change are walked.
 *
 * What keeps it exact:
 * - Only arrays whose bytes are exactly what the encoder would write get a span: no objects,
 *   references or binary strings inside (those have identity or can change in place), no
 *   duplicate keys, no non-canonical numbers (`i:007;`, `s:05:`, a key `"5"` that is the int 5).
 * - The bytes are kept as the input's latin1 text, which is immutable: the caller may reuse
 *   the Buffer it decoded.
 * - Every PhpArray change (set, delete, clear, push) drops the span of that array and of every
 *   array it was decoded inside ({@link PhpArray} keeps the decode-time parent for that).
 * - PhpFloat is readonly by type but not frozen (freezing costs more than decoding it): the
 *   floats inside a span are checked against their decoded values before the copy.
 * - Inputs holding `r:`/`R:` get no spans: slot numbers inside the copy could then be wrong.
 */
import type { PhpArray, PhpFloat } from './values.js';

/** The floats of one decoded input in order, with the values they were decoded with. */
export interface FloatLog {
  readonly objects: PhpFloat[];
  readonly values: number[];
}

export interface SourceSpan {
  /** The whole input, one char per byte. */
  readonly text: string;
  /** The array's bytes are text[start, end), from its `a:` to its `}`. */
  readonly start: number;
  readonly end: number;
  /** How many values (PHP var slots) lie inside, so slot numbers after the copy stay right. */
  readonly slots: number;
  /** The floats inside are log.objects[floatStart, floatEnd). */
  readonly floats: FloatLog;
  readonly floatStart: number;
  readonly floatEnd: number;
}

/** PhpArray's private span and parent, reachable from the codec only (set by values.ts). */
export interface SpanAccess {
  get(array: PhpArray): SourceSpan | null;
  set(array: PhpArray, span: SourceSpan): void;
  setParent(array: PhpArray, parent: PhpArray): void;
}

let access: SpanAccess | undefined;

/** Called once by PhpArray's static block. */
export function registerSpanAccess(a: SpanAccess): void {
  access = a;
}

export function spanOf(array: PhpArray): SourceSpan | null {
  return access!.get(array);
}

export function setSpan(array: PhpArray, span: SourceSpan): void {
  access!.set(array, span);
}

export function setDecodeParent(array: PhpArray, parent: PhpArray): void {
  access!.setParent(array, parent);
}

/** False when a float inside the span was changed in place after decoding. */
export function spanIntact(span: SourceSpan): boolean {
  const objects = span.floats.objects;
  const values = span.floats.values;
  for (let i = span.floatStart; i < span.floatEnd; i++) {
    const f = objects[i]!;
    if (!Object.is(f.value, values[i]) || f.text !== undefined) return false;
  }
  return true;
}
