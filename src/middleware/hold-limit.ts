/**
 * maxLockHoldMs for all the requests of one middleware or Store, watched by one timer
 * instead of a timer per request (a setTimeout and clearTimeout on every request showed in
 * profiles). The timer runs only while something is held, every half limit (at most every
 * second), so a hold is ended between the limit and 1.5 × the limit, at most 1 s late.
 */
export interface Held {
  /** When the hold started (performance.now()). */
  heldSince: number;
}

export class HoldLimit<H extends Held> {
  readonly #limitMs: number;
  readonly #expired: (h: H) => void;
  readonly #held = new Set<H>();
  #timer: NodeJS.Timeout | undefined;

  /**
   * @param limitMs 0 = no limit (nothing is watched).
   * @param expired called once for a hold that lasted longer than the limit (it is no longer watched then).
   */
  constructor(limitMs: number, expired: (h: H) => void) {
    this.#limitMs = limitMs;
    this.#expired = expired;
  }

  /** Starts watching `h`, from now. */
  add(h: H): void {
    if (this.#limitMs <= 0) return;
    h.heldSince = performance.now();
    this.#held.add(h);
    if (!this.#timer) {
      this.#timer = setInterval(() => this.#check(), Math.max(1, Math.min(1000, Math.ceil(this.#limitMs / 2))));
      // Watching holds must never keep a process alive on its own.
      this.#timer.unref();
    }
  }

  /** Stops watching `h` (its hold ended). */
  delete(h: H): void {
    this.#held.delete(h);
  }

  #check(): void {
    const cutoff = performance.now() - this.#limitMs;
    for (const h of this.#held) {
      if (h.heldSince > cutoff) continue;
      this.#held.delete(h);
      this.#expired(h);
    }
    if (this.#held.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
