/** Small text formatters shared by the commands (sizes, durations, tables, histograms). */
import { escapeAroundColors, escapeText } from './escape.js';
export { formatDuration } from '../admin/duration.js';
export { escapeText, displayName } from './escape.js';

/** 1536 → `1.5 KiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** 1234567 → `1,234,567`. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** Local time as `YYYY-MM-DD HH:MM:SS` (sortable, unambiguous). */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  const p = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export interface Column {
  title: string;
  width: number;
  align?: 'left' | 'right';
}

/** Pads to a visible width (ANSI escapes do not count). */
export function pad(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  // eslint-disable-next-line no-control-regex
  const visible = text.replace(/\x1b\[[0-9;]*m/g, '').length;
  const fill = ' '.repeat(Math.max(0, width - visible));
  return align === 'right' ? fill + text : text + fill;
}

/**
 * One table row with fixed column widths, so rows can stream without measuring them all.
 * Cells are escaped (escape.ts) except for the colour codes the CLI put around them.
 */
export function tableRow(columns: Column[], cells: string[]): string {
  return cells.map(escapeAroundColors).map((c, i) => (i === cells.length - 1 && columns[i]!.align !== 'right' ? c : pad(c, columns[i]!.width, columns[i]!.align))).join('  ') + '\n';
}

/** A horizontal bar histogram: label, bar scaled to the largest count, count. */
export function histogram(rows: { label: string; count: number }[], options: { width?: number; bar?: (s: string) => string } = {}): string {
  const width = options.width ?? 40;
  const max = Math.max(1, ...rows.map((r) => r.count));
  const labelWidth = Math.max(...rows.map((r) => r.label.length));
  const countWidth = Math.max(...rows.map((r) => formatCount(r.count).length));
  const paint = options.bar ?? ((s: string) => s);
  return rows
    .map((r) => {
      const exact = (r.count / max) * width;
      let bar = '█'.repeat(Math.floor(exact));
      const frac = exact - Math.floor(exact);
      if (frac > 0 && r.count > 0) bar += '▏▎▍▌▋▊▉'[Math.min(6, Math.floor(frac * 7))] ?? '';
      if (r.count > 0 && bar === '') bar = '▏';
      return `  ${escapeText(r.label).padEnd(labelWidth)}  ${formatCount(r.count).padStart(countWidth)}  ${paint(bar)}\n`;
    })
    .join('');
}

/**
 * A hexdump excerpt around `offset`: 16 bytes a line, the faulty byte marked with `^`.
 * Shows `context` bytes before and after (rounded to whole lines).
 */
export function hexdumpAround(bytes: Uint8Array, offset: number, context = 32): string {
  const start = Math.max(0, Math.floor((offset - context) / 16) * 16);
  const end = Math.min(bytes.length, Math.ceil((offset + context + 1) / 16) * 16);
  const lines: string[] = [];
  for (let line = start; line < Math.max(end, start + 1); line += 16) {
    const chunk = bytes.subarray(line, Math.min(line + 16, bytes.length));
    const hex: string[] = [];
    for (let i = 0; i < 16; i++) hex.push(i < chunk.length ? chunk[i]!.toString(16).padStart(2, '0') : '  ');
    const ascii = Array.from(chunk, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    const prefix = `  ${line.toString(16).padStart(8, '0')}  `;
    lines.push(`${prefix}${hex.slice(0, 8).join(' ')}  ${hex.slice(8).join(' ')}  |${ascii}|`);
    if (offset >= line && offset < line + 16) {
      const i = offset - line;
      lines.push(' '.repeat(prefix.length + i * 3 + (i >= 8 ? 1 : 0)) + '^^ offset ' + offset);
    } else if (offset >= bytes.length && line + 16 >= bytes.length && offset < line + 32) {
      lines.push(' '.repeat(prefix.length) + `(offset ${offset} is the end of the data)`);
    }
  }
  return lines.join('\n') + '\n';
}
