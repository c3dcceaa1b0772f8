import type { Clock } from '../../src/support/clock.js';

/**
 * A clock that moves only when told to: `advance(ms)` moves wall and monotonic time together and
 * wakes the sleepers whose time has come. With `autoAdvance`, `sleep(ms)` itself moves the clock
 * forward by `ms` (time jumps to the wake-up), so code that waits runs instantly and deterministically.
 */
export class ManualClock implements Clock {
  private wallMs: number;
  private monotonicMs = 0;
  private readonly sleepers: Array<{ at: number; wake: () => void }> = [];

  constructor(
    startMs = Date.UTC(2026, 0, 1),
    private readonly options: { autoAdvance?: boolean } = {},
  ) {
    this.wallMs = startMs;
  }

  now(): number {
    return this.wallMs;
  }

  monotonic(): number {
    return this.monotonicMs;
  }

  advance(ms: number): void {
    this.wallMs += ms;
    this.monotonicMs += ms;
    const due = this.sleepers.filter((sleeper) => sleeper.at <= this.monotonicMs);
    for (const sleeper of due) {
      this.sleepers.splice(this.sleepers.indexOf(sleeper), 1);
      sleeper.wake();
    }
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.options.autoAdvance) {
      this.advance(Math.max(0, ms));
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const sleeper = { at: this.monotonicMs + Math.max(0, ms), wake: resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener(
        'abort',
        () => {
          const index = this.sleepers.indexOf(sleeper);
          if (index >= 0) this.sleepers.splice(index, 1);
          reject(signal.reason as Error);
        },
        { once: true },
      );
    });
  }
}
