import type { ListingWindow } from '../codearts/build-listing.js';

/** A build can start this long before `--since` and still finish inside it: the listing is read from this much earlier. */
export const START_MARGIN_MS = 24 * 3600 * 1000;

/**
 * The listing windows that cover a job's history from `sinceMs` (less the margin) to `endMs`, each
 * at most `maxMs` long, oldest first, on whole seconds (the API's precision). Each begins at the
 * second the one before ends, so a build that starts within that second is in one of them whatever
 * the API does with the boundary (a build listed twice is counted once). The same inputs give the
 * same windows, so a resumed backfill reads the windows it did not finish and nothing twice.
 */
export function listingWindows(sinceMs: number, endMs: number, maxMs: number): ListingWindow[] {
  const windows: ListingWindow[] = [];
  const lengthMs = Math.floor(maxMs / 1000) * 1000 - 1000;
  const lastMs = Math.ceil(endMs / 1000) * 1000;
  for (let fromMs = Math.floor((sinceMs - START_MARGIN_MS) / 1000) * 1000; ; fromMs += lengthMs) {
    const toMs = Math.min(lastMs, fromMs + lengthMs);
    windows.push({ fromMs, toMs });
    if (toMs >= lastMs) return windows;
  }
}
