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
    private readonly enabled: boolean,
    private readonly delayMs = 400,
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

  done(): void {
    if (this.drawn) process.stderr.write('\r\x1b[2K');
    this.drawn = false;
  }
}
