import { NO_EVENTS, type Events } from '../support/events.js';
import type { CodeArtsEvent } from './events.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * Stops a cycle from waiting out a timeout per request when CodeArts cannot be reached. After
 * `threshold` consecutive attempts without an HTTP answer (network errors, timeouts) the breaker
 * opens: calls fail at once without touching the network. `beginCycle()` turns an open breaker
 * half-open: the next call is the probe and every other call waits for its outcome; any HTTP
 * answer closes the breaker, another failure opens it again until the next cycle.
 */
export class CircuitBreaker {
  private state: BreakerState = 'closed';
  private failures = 0;
  private lastError: string | undefined;
  private probe: Promise<void> | undefined;
  private settleProbe: (() => void) | undefined;

  constructor(
    /** 0 disables the breaker. */
    private readonly threshold: number,
    private readonly events: Events<CodeArtsEvent> = NO_EVENTS,
  ) {}

  current(): BreakerState {
    return this.state;
  }

  /** Why calls are refused while open. */
  reason(): string {
    return `circuit open after ${this.failures} consecutive attempts without an HTTP answer (last: ${this.lastError ?? 'unknown'}); not sent, next try at the next cycle`;
  }

  beginCycle(): void {
    if (this.state === 'open') this.transition('half-open');
  }

  /**
   * `go` (closed), `probe` (this call tests a half-open breaker: report its outcome, or
   * `onInconclusive`), or `refuse` (fail fast). Callers behind a probe wait for its outcome.
   */
  async admit(): Promise<'go' | 'probe' | 'refuse'> {
    for (;;) {
      if (this.state === 'closed') return 'go';
      if (this.state === 'open') return 'refuse';
      if (!this.probe) {
        this.probe = new Promise<void>((resolve) => (this.settleProbe = resolve));
        return 'probe';
      }
      await this.probe;
    }
  }

  /** An HTTP answer arrived (any status): CodeArts is reachable. */
  onAnswer(): void {
    this.failures = 0;
    if (this.state !== 'closed') this.transition('closed');
    this.endProbe();
  }

  /** An attempt ended without an HTTP answer. */
  onNetworkFailure(description: string): void {
    this.failures += 1;
    this.lastError = description;
    if (this.threshold > 0 && this.state !== 'open' && (this.state === 'half-open' || this.failures >= this.threshold)) {
      this.transition('open');
    }
    this.endProbe();
  }

  /** The probe ended without a verdict (aborted, no credentials): let the next call probe. */
  onInconclusive(): void {
    this.endProbe();
  }

  private endProbe(): void {
    const settle = this.settleProbe;
    this.probe = undefined;
    this.settleProbe = undefined;
    settle?.();
  }

  private transition(state: BreakerState): void {
    this.state = state;
    this.events.emit({ type: 'circuit', state, failures: this.failures, ...(this.lastError ? { lastError: this.lastError } : {}) });
  }
}
