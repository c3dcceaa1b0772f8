import type { CodeArtsClient } from '../codearts/client.js';
import type { ListedJob } from '../codearts/job-feed.js';
import { unixSeconds, type Clock } from '../support/clock.js';
import type { Events } from '../support/events.js';
import type { PollerEvent } from './events.js';

/** After a listing fails, the next try waits this long, doubling up to MAX_FEED_RETRY_SECONDS. */
export const FIRST_FEED_RETRY_SECONDS = 300;
export const MAX_FEED_RETRY_SECONDS = 3600;

/** What one read of the global job list says. */
export interface FeedSnapshot {
  /** Jobs the list showed with a usable newest build number, by id. */
  jobs: ReadonlyMap<string, ListedJob>;
  /** Pages requested for it. */
  pages: number;
}

/**
 * The change feed: the global job list (`GET /v1/job/list`), read once per cycle, tells which
 * jobs moved (docs/design.md, "The change feed"). It is an optimisation only: when it does not
 * answer (route not published: 404 APIGW.0101; no permission: 403; 5xx; a malformed answer) the
 * cycle probes every job as without it, and the list is tried again after 5 minutes, then 10, ...
 * up to an hour. Every read is reported (`change_feed`); the first failure after an answer, and
 * the answer after failures, are what an operator is told about.
 */
export class ChangeFeed {
  private retryAt = 0;
  private retrySeconds = FIRST_FEED_RETRY_SECONDS;
  private unavailable = false;
  private lastIncomplete: string | undefined;

  constructor(
    private readonly client: CodeArtsClient,
    private readonly events: Events<PollerEvent>,
    private readonly clock: Clock,
  ) {}

  /** The list as of now, or undefined when it is not to be asked (backing off) or did not answer. */
  async read(signal?: AbortSignal): Promise<FeedSnapshot | undefined> {
    const now = unixSeconds(this.clock);
    if (now < this.retryAt) return undefined;
    try {
      const listing = await this.client.listAllJobs(signal);
      const jobs = new Map<string, ListedJob>();
      for (const job of listing.jobs) if (job.newest !== undefined) jobs.set(job.id, job);
      this.answered(listing.incomplete, jobs.size, listing.total, listing.pages);
      return { jobs, pages: listing.pages };
    } catch (error) {
      if (signal?.aborted) throw error;
      this.failed(now, error);
      return undefined;
    }
  }

  private answered(incomplete: string | undefined, listed: number, total: number, pages: number): void {
    const newIncomplete = incomplete !== undefined && incomplete !== this.lastIncomplete;
    this.lastIncomplete = incomplete;
    this.events.emit({
      type: 'change_feed',
      available: true,
      recovered: this.unavailable,
      pages,
      listed,
      total,
      ...(newIncomplete ? { incomplete } : {}),
    });
    this.unavailable = false;
    this.retrySeconds = FIRST_FEED_RETRY_SECONDS;
  }

  private failed(now: number, error: unknown): void {
    const retryInSeconds = this.retrySeconds;
    this.retryAt = now + retryInSeconds;
    this.retrySeconds = Math.min(this.retrySeconds * 2, MAX_FEED_RETRY_SECONDS);
    const reason = error instanceof Error ? error.message : String(error);
    this.events.emit({ type: 'change_feed', available: false, reason, retryInSeconds, first: !this.unavailable });
    this.unavailable = true;
  }
}
