import { IncomingMessage } from 'node:http';

/*
 * `req.phpSession` without a property added to each request: node:http's requests do not
 * share hidden classes, so every property added to one builds a new one (~1.3 KB and several
 * µs a request, measured). Instead the name is defined once as an accessor on
 * IncomingMessage.prototype — which Express's requests inherit from, sub-apps included — and
 * each request's value lives in a WeakMap. Reading `req.phpSession` works as before; assigning
 * to it makes an ordinary own property (which then wins). A name that the prototype chain
 * already has (Node's own `url`, another library's accessor, another copy of sessctl) is left
 * alone: such requests get an own property, as before.
 */
const slots = new Map<string, WeakMap<object, unknown> | null>();

function slotFor(name: string): WeakMap<object, unknown> | null {
  let values = slots.get(name);
  if (values !== undefined) return values;
  values = null;
  const proto = IncomingMessage.prototype;
  if (!(name in proto) && Object.isExtensible(proto)) {
    const map = new WeakMap<object, unknown>();
    try {
      Object.defineProperty(proto, name, {
        configurable: true,
        enumerable: false,
        get(this: object) {
          return map.get(this);
        },
        set(this: object, value: unknown) {
          Object.defineProperty(this, name, { value, writable: true, enumerable: true, configurable: true });
        },
      });
      values = map;
    } catch {
      /* not definable: own properties it is */
    }
  }
  slots.set(name, values);
  return values;
}

/** Puts `value` on `req` under `name` (see above). */
export function setRequestValue(req: IncomingMessage, name: string, value: unknown): void {
  const values = slotFor(name);
  if (values !== null && req instanceof IncomingMessage && !Object.prototype.hasOwnProperty.call(req, name)) values.set(req, value);
  // Defined rather than assigned: an accessor of someone else's up the chain may have no setter.
  else Object.defineProperty(req, name, { value, writable: true, enumerable: true, configurable: true });
}
