import { systemClock, type Clock } from '../support/clock.js';

/**
 * Client-side request budget: at most `rate` request starts in any sliding one-second window, and
 * evenly spaced (1/rate s apart) rather than in a burst at the start of each window: a burst
 * would reach the server with its first requests delayed (a new connection, a busy event loop)
 * and its next one not, and the server would count more than `rate` in one of its seconds.
 * Throttling answers (429, APIG.0308, CB.00060211) halve the rate, down to `minRate`; every quiet
 * second afterwards gives back a tenth of the configured rate. Hand-written rather than p-throttle
 * because the limit has to move at run time.
 */
/**
 * Timers fire late (Node rounds up to whole milliseconds, then the loop may be busy). Spacing is
 * kept from when a start was due rather than from when it happened, catching up on lateness of at
 * most this much; measured from the actual start, 1,000 req/s delivered about 550.
 */
const CATCH_UP_MS = 2;

export class RequestBudget {
  private readonly starts: number[] = [];
  /** When the next start is due, for even spacing. */
  private nextStart = -Infinity;
  private rate: number;
  private lastPenalty = -Infinity;
  private lastRecovery = 0;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly maxRate: number,
    private readonly minRate = Math.min(0.5, maxRate),
    private readonly clock: Clock = systemClock,
  ) {
    this.rate = maxRate;
  }

  /** The rate currently allowed, in requests per second. */
  currentRate(): number {
    return this.rate;
  }

  /** Waits until one more request may start; requests are admitted in arrival order. */
  acquire(signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => this.waitForSlot(signal));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** The server said we send too much. */
  penalize(): void {
    const now = this.clock.monotonic();
    if (now - this.lastPenalty < 1000) return;
    this.lastPenalty = now;
    this.lastRecovery = now;
    this.rate = Math.max(this.minRate, this.rate / 2);
  }

  /** A request succeeded; recover towards the configured rate once per quiet second. */
  reward(): void {
    if (this.rate >= this.maxRate) return;
    const now = this.clock.monotonic();
    if (now - this.lastPenalty < 1000 || now - this.lastRecovery < 1000) return;
    this.lastRecovery = now;
    this.rate = Math.min(this.maxRate, this.rate + this.maxRate / 10);
  }

  private async waitForSlot(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = this.clock.monotonic();
      while (this.starts.length > 0 && now - (this.starts[0] ?? 0) >= 1000) this.starts.shift();
      const perWindow = Math.max(1, Math.floor(this.rate));
      const spacing = 1000 / this.rate;
      const spacingWait = this.nextStart - now;
      const windowWait = this.starts.length >= perWindow ? (this.starts[0] ?? now) + 1000 - now : 0;
      const wait = Math.max(spacingWait, windowWait);
      if (wait <= 0) {
        this.starts.push(now);
        this.nextStart = Math.max(this.nextStart, now - CATCH_UP_MS) + spacing;
        return;
      }
      await this.clock.sleep(wait, signal);
    }
  }
}
