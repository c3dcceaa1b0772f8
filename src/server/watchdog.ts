import { systemClock, type Clock } from '../support/clock.js';

/**
 * Liveness by progress: the process is wedged when no poll cycle has finished (whatever its
 * outcome) for `periods` poll periods. An unreachable CodeArts is not a reason to restart: cycles
 * still finish, and `codearts_exporter_up` says the rest.
 */
export class CycleWatchdog {
  private lastFinishedMs: number;

  constructor(
    private readonly periodMs: number,
    /** 0 disables the watchdog. */
    private readonly periods: number,
    private readonly clock: Clock = systemClock,
  ) {
    this.lastFinishedMs = clock.monotonic();
  }

  /** Restarts the clock (the schedule starts). */
  reset(): void {
    this.lastFinishedMs = this.clock.monotonic();
  }

  cycleFinished(): void {
    this.lastFinishedMs = this.clock.monotonic();
  }

  private limitMs(): number {
    return this.periods * this.periodMs;
  }

  check(): { healthy: true } | { healthy: false; reason: string } {
    if (this.periods === 0) return { healthy: true };
    const idleMs = this.clock.monotonic() - this.lastFinishedMs;
    if (idleMs <= this.limitMs()) return { healthy: true };
    const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
    return {
      healthy: false,
      reason: `no poll cycle finished for ${seconds(idleMs)} (limit ${this.periods} poll periods of ${seconds(this.periodMs)}, poll.watchdog_periods)`,
    };
  }
}
