// Describing decoded values as fixtures/lib.php describes what PHP read, with one rule more:
// PHP's describer finds references with ReflectionReference, which ignores a reference held in
// one place only (refcount 1 — "ignorable": PHP treats it as a plain value, and serialize()
// writes it as one). igbinary and msgpack write such references with their marker when the
// other holder lived outside the value (msgpack: any `&`), so a PhpReference held once is
// described as its value here. Everything else is fixtures/corpus.js's describe().
import { PhpArray, PhpObject, PhpReference } from 'sessctl';
import { describe } from '../../fixtures/corpus.js';

const mapSet = Map.prototype.set;

/** How many container entries hold each PhpReference (each array instance counted once). */
function holders(value) {
  const count = new Map();
  const seen = new Set();
  const stack = [value];
  while (stack.length) {
    const v = stack.pop();
    const entries = v instanceof PhpArray ? v.values() : v instanceof PhpObject ? v.props.values() : v instanceof PhpReference ? [v.value].values() : null;
    if (entries === null || seen.has(v)) continue;
    seen.add(v);
    for (const x of entries) {
      if (x instanceof PhpReference) count.set(x, (count.get(x) ?? 0) + 1);
      stack.push(x);
    }
  }
  return count;
}

/** The value with every PhpReference held once replaced by its value (a copy; identities kept). */
function withoutLoneReferences(value) {
  const count = holders(value);
  const copies = new Map();
  const copy = (v) => {
    if (v instanceof PhpReference && (count.get(v) ?? 0) < 2) return copy(v.value);
    if (!(v instanceof PhpArray || v instanceof PhpObject || v instanceof PhpReference)) return v;
    if (copies.has(v)) return copies.get(v);
    if (v instanceof PhpReference) {
      const box = new PhpReference(null);
      copies.set(v, box);
      box.value = copy(v.value);
      return box;
    }
    const target = new PhpArray();
    const out = v instanceof PhpObject ? new PhpObject(v.className, target) : target;
    copies.set(v, out);
    for (const [k, x] of v instanceof PhpObject ? v.props : v) mapSet.call(target, k, copy(x));
    return out;
  };
  return copy(value);
}

export function describeAsPhpSees(value) {
  return describe(withoutLoneReferences(value));
}
