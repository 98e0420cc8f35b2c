import type { ChalkInstance } from 'chalk';

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
