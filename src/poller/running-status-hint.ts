import type { CodeArtsClient } from '../codearts/client.js';
import { unixSeconds, type Clock } from '../support/clock.js';
import type { Events } from '../support/events.js';
import type { PollerEvent } from './events.js';

/** Failures in a row (over all jobs) after which running-status is not asked for a while. */
export const HINT_FAILURES_TO_SUSPEND = 3;
export const FIRST_SUSPENSION_SECONDS = 600;
export const MAX_SUSPENSION_SECONDS = 6 * 3600;

/** Where the newest build number of a job comes from, when it comes at all. */
export interface NewestBuildHint {
  /** The job's newest build number (0: never ran); undefined when running-status gives no usable answer. */
  newest(jobId: string, signal?: AbortSignal): Promise<number | undefined>;
}

/**
 * `running-status` as an optional hint. It can be unavailable for good (the route is not published
 * in the region: 404 APIGW.0101; a least-privilege user: 401/403) or for a while (5xx, malformed
 * answers). After HINT_FAILURES_TO_SUSPEND failures in a row it is not asked for 10 minutes, then
 * 20, up to 6 hours, and gap checks fall back to looking ahead; reported (`running_status`) on
 * every change of availability.
 */
export class RunningStatusHint implements NewestBuildHint {
  private failures = 0;
  private suspendedUntil = 0;
  private suspensionSeconds = FIRST_SUSPENSION_SECONDS;
  /** Suspended at least once since it last answered. */
  private unavailable = false;

  constructor(
    private readonly client: CodeArtsClient,
    private readonly events: Events<PollerEvent>,
    private readonly clock: Clock,
  ) {}

  async newest(jobId: string, signal?: AbortSignal): Promise<number | undefined> {
    if (unixSeconds(this.clock) < this.suspendedUntil) return undefined;
    try {
      const newest = await this.client.getLastBuildNumber(jobId, signal);
      this.succeeded();
      return newest;
    } catch (error) {
      if (signal?.aborted) throw error;
      this.failed(jobId, error);
      return undefined;
    }
  }

  private succeeded(): void {
    this.events.emit({ type: 'running_status', available: true, recovered: this.unavailable });
    this.failures = 0;
    this.unavailable = false;
    this.suspensionSeconds = FIRST_SUSPENSION_SECONDS;
  }

  private failed(jobId: string, error: unknown): void {
    this.failures += 1;
    if (this.failures < HINT_FAILURES_TO_SUSPEND) return;
    this.failures = 0;
    this.suspendedUntil = unixSeconds(this.clock) + this.suspensionSeconds;
    const reason = error instanceof Error ? error.message : String(error);
    this.events.emit({
      type: 'running_status',
      available: false,
      jobId,
      reason,
      retryInSeconds: this.suspensionSeconds,
      first: !this.unavailable,
    });
    this.suspensionSeconds = Math.min(this.suspensionSeconds * 2, MAX_SUSPENSION_SECONDS);
    this.unavailable = true;
  }
}
