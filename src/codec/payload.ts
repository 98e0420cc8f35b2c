/**
 * `C:` (Serializable) payloads and PHP's slot numbering.
 *
 * PHP hands a `C:` payload to the class's `unserialize()`, and a nested unserialize() in there
 * shares the outer call's slot table (php_var_unserialize_init reuses it while an unserialize
 * is running): every value it reads takes the next slot, so the slots after the `C:` value are
 * numbered past the payload's own values, and an `r:`/`R:` after it may point into it. The
 * same holds when writing (a nested serialize() shares php_add_var_hash's numbering). So the
 * decoder reads a payload the way PHP 8.2 would, and the encoder counts those slots again.
 *
 * - PHP's own Serializable classes parse their payload themselves, always with the shared
 *   table (ext/spl): ArrayObject, ArrayIterator, RecursiveArrayIterator (`x:i:<flags>;`, the
 *   storage array or object unless flags has 0x01000000, `;m:<members array>`),
 *   SplObjectStorage (`x:i:<count>;` then per element `<object>[,<info>];`, `m:<members>`),
 *   SplDoublyLinkedList, SplQueue, SplStack (`i:<flags>;` then `:<value>` per element, to the
 *   end). An empty payload is accepted and read as nothing. A payload that does not parse is
 *   refused, as PHP refuses it (its unserialize() throws UnexpectedValueException).
 * - Any other class is user code. PHP runs its unserialize(); the common shape calls
 *   unserialize() once on the whole payload (it holds one serialize() output), which is how
 *   the decoder reads a payload that is exactly one complete value. A payload shaped like one
 *   of the SPL formats above (a subclass of those classes) is read by that format. Anything
 *   else is opaque: no slots. A payload that looks like one of these but does not parse is
 *   opaque too (what user code does with it is unknown), and leaves nothing behind.
 *   This assumes the class is loaded where the data is read, as in the PHP application that
 *   wrote it: PHP without the class skips the payload (no slots; the object becomes
 *   __PHP_Incomplete_Class, and the payload is gone the next time it is serialized).
 */
import type { PhpSerializable, PhpValue } from './values.js';

/** Which of PHP's own payload formats a class reads (by lower-case class name). */
export type SplPayloadKind = 'array' | 'storage' | 'list';

export const SPL_PAYLOAD_KINDS: ReadonlyMap<string, SplPayloadKind> = new Map([
  ['arrayobject', 'array'],
  ['arrayiterator', 'array'],
  ['recursivearrayiterator', 'array'],
  ['splobjectstorage', 'storage'],
  ['spldoublylinkedlist', 'list'],
  ['splqueue', 'list'],
  ['splstack', 'list'],
]);

/** ArrayObject's flag saying that no storage value follows the flags. */
export const SPL_ARRAY_IS_SELF = 0x01000000;

/** What the decoder learned about one payload: how many slots it took, and their values. */
export interface PayloadSlots {
  /** The `data` Uint8Array the slots were read from: a PhpSerializable given other bytes is counted again. */
  readonly data: Uint8Array;
  readonly count: number;
  /** The payload's slot values in order (objects and `&` boxes among them), or null when the decoder kept no slot table. */
  readonly values: readonly PhpValue[] | null;
}

const slotsOf = new WeakMap<PhpSerializable, PayloadSlots>();

export function setPayloadSlots(value: PhpSerializable, slots: PayloadSlots): void {
  slotsOf.set(value, slots);
}

/** The decoder's record for `value`, if it still describes `value.data`. */
export function payloadSlotsOf(value: PhpSerializable): PayloadSlots | undefined {
  const s = slotsOf.get(value);
  return s !== undefined && s.data === value.data ? s : undefined;
}
