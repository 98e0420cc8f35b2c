import type { ChalkInstance } from 'chalk';
import { escapeText } from './escape.js';

/** What the printers colour with: chalk, or a no-op stand-in of the same shape. */
export type Colors = ChalkInstance;

// Without colour, chalk is not even loaded (it costs ~10 ms of start-up).
const plain: Colors = new Proxy(function (...parts: unknown[]) {
  return parts.join(' ');
}, { get: (target, prop) => (prop === 'then' ? undefined : prop === 'level' ? 0 : prop in Function.prototype ? Reflect.get(target, prop) : plain) }) as unknown as Colors;

/**
 * Colour for one stream: none when NO_COLOR is set (any non-empty value, per no-color.org),
 * when the stream is not a terminal (cron, pipes) unless FORCE_COLOR asks for it.
 */
export async function colorsFor(stream: NodeJS.WriteStream): Promise<Colors> {
  const env = process.env;
  let level: 0 | 1 | 2 | 3 = 0;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') level = 0;
  else if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') level = 1;
  else if (stream.isTTY) level = stream.hasColors?.(256) ? 2 : stream.hasColors?.() ? 1 : 0;
  if (level === 0) return plain;
  const { Chalk } = await import('chalk');
  return new Chalk({ level });
}

/** Writes to stdout respecting back-pressure, so streaming a million rows stays bounded. */
export function writeOut(text: string): Promise<void> | void {
  if (!process.stdout.write(text)) return new Promise((resolve) => process.stdout.once('drain', () => resolve()));
}

/** Whether progress may be drawn: stderr is a terminal and output is not quietened. */
export function canShowProgress(quiet: boolean | undefined): boolean {
  return !quiet && process.stderr.isTTY === true;
}

/** One open array or object of {@link formatJson}. */
interface JsonOpen {
  close: string;
  /** Arrays: the array; objects: its keys. */
  keys: string[] | null;
  source: object;
  length: number;
  next: number;
  /** Whether a member was written (so `,` goes before the next one). */
  wrote: boolean;
  pad: string;
}

/**
 * `JSON.stringify(value, null, indent)` for the CLI's JSON output, written with an explicit
 * stack: V8's own JSON.stringify recurses and overflows on objects nested a few thousand
 * deep, which the decoder accepts (and `inspect --json` prints). Same rules: `toJSON()`,
 * `undefined` / functions / symbols left out of objects and `null` in arrays, non-finite
 * numbers as `null`, a bigint or a cycle is a TypeError.
 */
export function formatJson(value: unknown, indent = 2): string | undefined {
  const out: string[] = [];
  const stack: JsonOpen[] = [];
  const open = new Set<object>();
  const unit = ' '.repeat(indent);

  /** A value's JSON (a leaf), '' when it opened a container (now on the stack), undefined when it has none. */
  const start = (holderKey: string, v: unknown, pad: string): string | undefined => {
    if (v !== null && (typeof v === 'object' || typeof v === 'bigint') && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      v = (v as { toJSON(key: string): unknown }).toJSON(holderKey);
    }
    if (v instanceof Number || v instanceof String || v instanceof Boolean) v = v.valueOf();
    switch (typeof v) {
      case 'string':
        return jsonString(v);
      case 'number':
        return Number.isFinite(v) ? String(v) : 'null';
      case 'boolean':
        return v ? 'true' : 'false';
      case 'bigint':
        throw new TypeError('Do not know how to serialize a BigInt');
      case 'object':
        break;
      default:
        return undefined;
    }
    if (v === null) return 'null';
    if (open.has(v)) throw new TypeError('Converting circular structure to JSON');
    const isArray = Array.isArray(v);
    const keys = isArray ? null : Object.keys(v);
    const length = isArray ? (v as unknown[]).length : keys!.length;
    if (length === 0 && isArray) return '[]';
    open.add(v);
    out.push(isArray ? '[' : '{');
    stack.push({ close: isArray ? ']' : '}', keys, source: v, length, next: 0, wrote: false, pad });
    return '';
  };

  const first = start('', value, '');
  if (first === undefined) return undefined;
  if (first !== '') return first;
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    if (f.next >= f.length) {
      stack.pop();
      open.delete(f.source);
      out.push(f.wrote && indent > 0 ? `\n${f.pad}${f.close}` : f.close);
      continue;
    }
    const i = f.next++;
    const inner = f.pad + unit;
    const sep = (f.wrote ? ',' : '') + (indent > 0 ? `\n${inner}` : '');
    if (f.keys === null) {
      out.push(sep);
      f.wrote = true;
      const s = start(String(i), (f.source as unknown[])[i], inner);
      if (s !== '') out.push(s ?? 'null');
    } else {
      const k = f.keys[i]!;
      const mark = out.length;
      out.push(sep, jsonString(k), indent > 0 ? ': ' : ':');
      const s = start(k, (f.source as Record<string, unknown>)[k], inner);
      if (s === undefined) out.length = mark; // left out, as JSON.stringify does
      else {
        f.wrote = true;
        if (s !== '') out.push(s);
      }
    }
  }
  return out.join('');
}

/** A JSON string literal; unlike JSON.stringify's, C1 controls, DEL and bidi overrides are escaped too (see escape.ts). */
function jsonString(s: string): string {
  return `"${escapeText(s, 'json')}"`;
}
