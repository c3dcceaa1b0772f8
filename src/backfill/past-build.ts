import type { CountedBuild } from '../domain/counters.js';

/** A finished build of the past, as `backfill` counts it: what the live poller would have counted, and when. */
export interface PastBuild {
  buildNo: number;
  /** Unix seconds it finished (start + duration when the listing described it). */
  finishedAt: number;
  counted: CountedBuild;
  /** Where its description came from: the listing page, or a record-info request of its own. */
  source: 'listing' | 'record-info';
}
