/**
 * A one-line progress display on stderr for long runs on a terminal. The total is not
 * known (the walk streams), so the bar is an indeterminate sweep next to live counts.
 * Redraws at most 10 times a second and only after the run has lasted a moment.
 */
export class ProgressLine {
  private lastDraw = 0;
  private frame = 0;
  private drawn = false;
  private readonly started = Date.now();

  constructor(
    readonly enabled: boolean,
    // SESSCTL_PROGRESS_DELAY_MS: for tests that need the line at once, on a pseudo-terminal.
    private readonly delayMs = Number(process.env.SESSCTL_PROGRESS_DELAY_MS ?? 400),
  ) {}

  update(text: string): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.started < this.delayMs || now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const width = 16;
    const pos = this.frame++ % (2 * (width - 3));
    const at = pos < width - 3 ? pos : 2 * (width - 3) - pos;
    const bar = '░'.repeat(at) + '███' + '░'.repeat(width - 3 - at);
    const cols = process.stderr.columns || 80;
    process.stderr.write(`\r\x1b[2K${bar} ${text}`.slice(0, cols + 5));
    this.drawn = true;
  }

  /** Milliseconds since the run started. */
  elapsedMs(): number {
    return Date.now() - this.started;
  }

  done(): void {
    if (this.drawn) process.stderr.write('\r\x1b[2K');
    this.drawn = false;
  }
}

/** "12,345 sessions · 4,100/s · 3s": the count, its rate and the elapsed time. */
export function rateText(count: number, elapsedMs: number): string {
  const seconds = Math.max(elapsedMs / 1000, 0.001);
  const rate = Math.round(count / seconds);
  const elapsed = seconds < 60 ? `${Math.floor(seconds)}s` : `${Math.floor(seconds / 60)}m ${Math.floor(seconds % 60)}s`;
  return `${count.toLocaleString('en-US')} sessions · ${rate.toLocaleString('en-US')}/s · ${elapsed}`;
}

/**
 * The same source, drawing a progress line (sessions seen, rate, elapsed) as its entries are
 * walked — for the commands that stream over every session. Not drawn when `line` is disabled
 * (stderr not a terminal: a pipe, cron).
 */
export function withProgress<S extends { entries(options?: never): AsyncIterable<unknown> }>(source: S, line: ProgressLine, what = 'checked'): S {
  if (!line.enabled) return source;
  const entries = source.entries.bind(source) as (options?: unknown) => AsyncIterable<unknown>;
  async function* counted(options?: unknown) {
    let n = 0;
    try {
      for await (const e of entries(options)) {
        if (++n % 256 === 0) line.update(`${what} ${rateText(n, line.elapsedMs())}`);
        yield e;
      }
    } finally {
      line.done();
    }
  }
  // A Proxy, not a copy: the other methods run on the source itself (its private fields).
  return new Proxy(source, {
    get(target, prop) {
      if (prop === 'entries') return counted;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
