import type { ChalkInstance } from 'chalk';
import { displayName, escapeText } from './escape.js';
import { formatPhpFloat } from '../codec/float.js';
import { PhpArray, PhpEnum, PhpFloat, PhpObject, PhpReference, PhpSerializable, parsePropertyName, type PhpKey, type PhpValue } from '../codec/values.js';

export interface TreeOptions {
  colors: ChalkInstance;
  /** Show long strings whole (default: shortened to `maxString` bytes). */
  full?: boolean;
  maxString?: number;
}

function escapeBytes(b: Uint8Array): string {
  let out = '';
  for (const c of b) {
    if (c === 0x22 || c === 0x5c) out += '\\' + String.fromCharCode(c);
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x09) out += '\\t';
    else out += '\\x' + c.toString(16).padStart(2, '0');
  }
  return out;
}

/**
 * Renders a decoded session as an indented tree: PHP types with byte lengths, class names,
 * property visibility, `&` references (numbered; a later use points back), shared objects
 * (`*shared* #n`), shared arrays (igbinary: drawn once, then `*shared*` naming where),
 * `*RECURSION*` for a value that contains itself, long strings shortened, binary shown escaped.
 */
/** An entry's place: its key, and the entry holding it (null at the top). */
interface PathNode {
  parent: PathNode | null;
  key: PhpKey;
  inObject: boolean;
}

export function renderTree(data: PhpArray, options: TreeOptions): string {
  const c = options.colors;
  const maxString = options.full ? Infinity : options.maxString ?? 120;
  const lines: string[] = [];
  const objectIds = new Map<object, number>();
  const refIds = new Map<PhpReference, number>();
  const ancestors = new Set<object>();
  /**
   * Non-empty arrays drawn so far, with where: igbinary shares arrays, and 36 bytes of it can
   * nest 2^40 copies, so a shared array is drawn once (as objects are).
   */
  const arrayAt = new Map<PhpArray, PathNode>();
  // A deep path is cut in the middle: each shared array names one, and a hostile session can
  // nest thousands of levels (the whole path each time would make the output quadratic).
  const PATH_HEAD = 3;
  const PATH_TAIL = 8;
  const pathText = (node: PathNode): string => {
    const nodes: PathNode[] = [];
    for (let n: PathNode | null = node; n !== null; n = n.parent) nodes.push(n);
    nodes.reverse();
    const shown = nodes.length <= PATH_HEAD + PATH_TAIL + 1 ? nodes : [...nodes.slice(0, PATH_HEAD), null, ...nodes.slice(-PATH_TAIL)];
    return shown.map((n) => (n === null ? c.dim(`… ${nodes.length - PATH_HEAD - PATH_TAIL} levels …`) : keyText(n.key, n.inObject))).join(c.dim(' → '));
  };

  const str = (s: string): string => {
    const bytes = Buffer.byteLength(s, 'utf8');
    const head = `${c.dim('string(')}${bytes}${c.dim(')')}`;
    if (bytes <= maxString) return `${head} ${c.green(`"${escapeText(s, 'quoted')}"`)}`;
    // Shorten by bytes, not cutting a character in half.
    const cut = Buffer.from(s, 'utf8').subarray(0, maxString).toString('utf8').replace(/\uFFFD$/, '');
    return `${head} ${c.green(`"${escapeText(cut, 'quoted')}`)}${c.dim(`… (+${bytes - Buffer.byteLength(cut)} bytes, --full to show)`)}${c.green('"')}`;
  };
  const bin = (b: Uint8Array): string => {
    const head = `${c.dim('binary(')}${b.length}${c.dim(')')}`;
    if (b.length <= maxString) return `${head} ${c.green(`"${escapeBytes(b)}"`)}`;
    return `${head} ${c.green(`"${escapeBytes(b.subarray(0, maxString))}`)}${c.dim(`… (+${b.length - maxString} bytes, --full to show)`)}${c.green('"')}`;
  };
  /** A key or property name as printed: shortened like strings (a crafted 20 MB key is one line). */
  const name = (s: string): string => {
    if (s.length <= maxString) return displayName(s);
    const cut = s.slice(0, maxString).replace(/[\ud800-\udbff]$/, '');
    return `${displayName(cut)}${c.dim(`… (+${s.length - cut.length} chars, --full to show)`)}`;
  };
  const keyText = (k: PhpKey, inObject: boolean): string => {
    if (typeof k !== 'string') return c.cyan(`[${k}]`);
    if (!inObject) return c.cyan(name(k));
    const p = parsePropertyName(k);
    const vis = p.visibility === 'public' ? '' : p.visibility === 'protected' ? c.dim('protected ') : c.dim(`private(${name(p.declaringClass!)}) `);
    return `${vis}${c.cyan(name(p.name))}`;
  };
  /** A class name as printed (names come from the data: escaped like everything else). */
  const className = (name: string): string => c.blue.bold(displayName(name));

  /** One value's head text; children (if any) are returned to be drawn below it. */
  const head = (v: PhpValue, path: PathNode): { text: string; children?: [PhpKey, PhpValue][]; inObject?: boolean; container?: object } => {
    if (v === null) return { text: c.magenta('null') };
    if (typeof v === 'boolean') return { text: `${c.dim('bool(')}${c.magenta(String(v))}${c.dim(')')}` };
    if (typeof v === 'number' || typeof v === 'bigint') return { text: `${c.dim('int(')}${c.yellow(String(v))}${c.dim(')')}` };
    if (typeof v === 'string') return { text: str(v) };
    if (v instanceof Uint8Array) return { text: bin(v) };
    if (v instanceof PhpFloat) return { text: `${c.dim('float(')}${c.yellow(escapeText(v.text ?? formatPhpFloat(v.value)))}${c.dim(')')}` };
    if (v instanceof PhpReference) {
      const known = refIds.get(v);
      if (known !== undefined) return { text: c.red(`&${known} → the same reference as above`) };
      const n = refIds.size + 1;
      refIds.set(v, n);
      // A reference never holds another one (the decoder makes none, the encoder refuses them).
      const inner = v.value instanceof PhpReference ? { text: c.red('<reference to a reference>') } : head(v.value, path);
      return { ...inner, text: `${c.red(`&${n}`)} ${inner.text}` };
    }
    if (v instanceof PhpArray) {
      if (ancestors.has(v)) return { text: c.red('*RECURSION*') };
      if (v.size > 0) {
        const at = arrayAt.get(v);
        if (at !== undefined) return { text: `${c.red('*shared*')} ${c.dim('array(')}${v.size}${c.dim(`) (the same array as ${pathText(at)} above)`)}` };
        arrayAt.set(v, path);
      }
      return { text: `${c.dim('array(')}${v.size}${c.dim(')')}${v.size === 0 ? c.dim(' []') : ''}`, children: [...v], container: v };
    }
    if (v instanceof PhpObject) {
      const known = objectIds.get(v);
      if (ancestors.has(v)) return { text: `${c.red('*RECURSION*')} ${className(v.className)}${c.dim(`#${known}`)}` };
      if (known !== undefined) return { text: `${c.red('*shared*')} ${c.dim('object(')}${className(v.className)}${c.dim(`)#${known} (same object as above)`)}` };
      const n = objectIds.size + 1;
      objectIds.set(v, n);
      return { text: `${c.dim('object(')}${className(v.className)}${c.dim(`)#${n} (${v.props.size})`)}`, children: [...v.props], inObject: true, container: v };
    }
    if (v instanceof PhpSerializable) return { text: `${c.dim('serializable(')}${className(v.className)}${c.dim(')')} ${bin(v.data)}` };
    if (v instanceof PhpEnum) return { text: `${c.dim('enum(')}${className(v.className)}${c.blue.bold('::')}${c.blue.bold(displayName(v.caseName))}${c.dim(')')}` };
    return { text: c.red(`<unknown value ${escapeText(String(v))}>`) };
  };

  /**
   * Iterative (an explicit stack of open containers): the decoder accepts nesting 4,096 deep
   * (and deeper with maxDepth), which a recursive walk cannot draw within the JS stack.
   */
  interface Open {
    entries: [PhpKey, PhpValue][];
    next: number;
    indent: string;
    inObject: boolean;
    container: object;
    /** Where this container is (for `*shared*` arrays). */
    path: PathNode | null;
  }
  const stack: Open[] = [{ entries: [...data], next: 0, indent: '', inObject: false, container: data, path: null }];
  ancestors.add(data);
  while (stack.length > 0) {
    const open = stack[stack.length - 1]!;
    if (open.next >= open.entries.length) {
      stack.pop();
      ancestors.delete(open.container);
      continue;
    }
    const i = open.next++;
    const [k, v] = open.entries[i]!;
    const last = i === open.entries.length - 1;
    const path: PathNode = { parent: open.path, key: k, inObject: open.inObject };
    const h = head(v, path);
    lines.push(`${open.indent}${c.dim(last ? '└─ ' : '├─ ')}${keyText(k, open.inObject)}${c.dim(':')} ${h.text}`);
    if (h.children && h.container) {
      ancestors.add(h.container);
      stack.push({ entries: h.children, next: 0, indent: open.indent + c.dim(last ? '   ' : '│  '), inObject: h.inObject ?? false, container: h.container, path });
    }
  }
  return lines.length ? lines.join('\n') + '\n' : c.dim('(empty session)') + '\n';
}
