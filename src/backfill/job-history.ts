import type { RecordLookup } from '../codearts/client.js';
import {
  classifyListingFailure,
  type BuildListingPage,
  type ListedBuild,
  type ListingPageRequest,
  type ListingWindow,
} from '../codearts/build-listing.js';
import { START_MARGIN_MS } from './listing-windows.js';
import type { BackfillJournal } from './journal.js';
import type { PastBuild } from './past-build.js';

/** The two requests a backfill makes. */
export interface HistoryClient {
  listBuilds(jobId: string, window: ListingWindow, page: ListingPageRequest, signal?: AbortSignal): Promise<BuildListingPage>;
  getRecord(jobId: string, buildNo: number, signal?: AbortSignal): Promise<RecordLookup>;
}

/** What the listing says of a build: counted from it, looked up with record-info, or left out (not finished). */
export type ListedVerdict = { kind: 'described'; build: PastBuild } | { kind: 'record-info' } | { kind: 'unfinished' };

export interface JobHistoryOptions {
  client: HistoryClient;
  jobId: string;
  windows: readonly ListingWindow[];
  /** Builds from this number on are counted live: never backfilled. */
  countingFrom: number;
  /** Unix seconds: builds that finished before are outside the backfill. */
  sinceS: number;
  pageSize: number;
  firstPage: number;
  describe: (listed: ListedBuild) => ListedVerdict;
  /** A build the listing could not describe, from its record-info; undefined when it is gone or unfinished. */
  fromRecord: (lookup: RecordLookup) => PastBuild | undefined;
  journal: BackfillJournal;
  /** After each request (not after answers the journal had). */
  onRequest?: () => void;
  /** The listing cannot be had for this job (not published in the region, no permission): record-info is walked instead. */
  onListingUnavailable?: (error: Error) => void;
  signal?: AbortSignal;
}

/**
 * A job's finished builds below its start point and after `since`, and how many it looked up with
 * record-info: each listing window page by page, then one record-info per build the listing cannot
 * describe. Every answer goes to the
 * journal as it comes, so an interrupted run asks again only what was in flight.
 */
export async function readJobHistory(options: JobHistoryOptions): Promise<{ builds: PastBuild[]; lookedUp: number }> {
  const listed = new Map<number, ListedBuild>();
  try {
    for (const [index, window] of options.windows.entries())
      for (const build of await readWindow(options, index, window)) listed.set(build.buildNo, build);
  } catch (error) {
    if (classifyListingFailure(error) !== 'unavailable') throw error;
    options.onListingUnavailable?.(error as Error);
    return walkRecords(options);
  }
  const builds: PastBuild[] = [];
  const lookUp: number[] = [];
  for (const build of listed.values()) {
    if (build.buildNo >= options.countingFrom) continue;
    const verdict = options.describe(build);
    if (verdict.kind === 'described') builds.push(verdict.build);
    else if (verdict.kind === 'record-info') lookUp.push(build.buildNo);
  }
  const looked = await Promise.all(lookUp.map((buildNo) => lookUpRecord(options, buildNo)));
  for (const build of looked) if (build) builds.push(build);
  return done(builds, options, lookUp.length);
}

async function readWindow(options: JobHistoryOptions, windowIndex: number, window: ListingWindow): Promise<ListedBuild[]> {
  const { client, jobId, journal, signal } = options;
  const builds: ListedBuild[] = [];
  for (let index = options.firstPage; ; index++) {
    signal?.throwIfAborted();
    let page = journal.page(jobId, windowIndex, index);
    if (!page) {
      page = await client.listBuilds(jobId, window, { index, size: options.pageSize }, signal);
      options.onRequest?.();
      await journal.recordPage(jobId, windowIndex, index, page);
    }
    builds.push(...page.builds);
    if (page.builds.length === 0 || index - options.firstPage + 1 >= page.totalPages) return builds;
  }
}

async function lookUpRecord(options: JobHistoryOptions, buildNo: number): Promise<PastBuild | undefined> {
  const { client, jobId, journal, signal } = options;
  const known = journal.lookup(jobId, buildNo);
  if (known !== undefined) return known ?? undefined;
  signal?.throwIfAborted();
  const build = options.fromRecord(await client.getRecord(jobId, buildNo, signal)) ?? null;
  options.onRequest?.();
  await journal.recordLookup(jobId, buildNo, build);
  return build ?? undefined;
}

/** Lookups asked at once while walking down without the listing. */
const WALK_BATCH = 8;
/** This many numbers in a row that do not exist (or have not finished) end the walk: retention deleted what lies below. */
const WALK_MISSES = 50;

/**
 * Without the listing: record-info for every build number from the start point down, until a build
 * finished more than a day before `since` (every lower build was created before it) or WALK_MISSES
 * numbers in a row do not exist. One request per build, in batches, journalled like the listing.
 */
async function walkRecords(options: JobHistoryOptions): Promise<{ builds: PastBuild[]; lookedUp: number }> {
  const builds: PastBuild[] = [];
  const olderThanMs = options.sinceS * 1000 - START_MARGIN_MS;
  let misses = 0;
  let lookedUp = 0;
  for (let top = options.countingFrom - 1; top >= 1; top -= WALK_BATCH) {
    const numbers = Array.from({ length: Math.min(WALK_BATCH, top) }, (_, i) => top - i);
    const found = await Promise.all(numbers.map((buildNo) => lookUpRecord(options, buildNo)));
    lookedUp += numbers.length;
    for (const build of found) {
      misses = build ? 0 : misses + 1;
      if (build && build.finishedAt * 1000 < olderThanMs) return done(builds, options, lookedUp);
      if (build) builds.push(build);
      if (misses >= WALK_MISSES) return done(builds, options, lookedUp);
    }
  }
  return done(builds, options, lookedUp);
}

function done(builds: PastBuild[], options: JobHistoryOptions, lookedUp: number): { builds: PastBuild[]; lookedUp: number } {
  return { builds: builds.filter((build) => build.finishedAt >= options.sinceS).sort((a, b) => a.buildNo - b.buildNo), lookedUp };
}
