import type { RecordLookup } from '../codearts/client.js';
import type { BuildListingPage, ListedBuild, ListingPageRequest, ListingWindow } from '../codearts/build-listing.js';
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
  for (const [index, window] of options.windows.entries())
    for (const build of await readWindow(options, index, window)) listed.set(build.buildNo, build);
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
  const kept = builds.filter((build) => build.finishedAt >= options.sinceS).sort((a, b) => a.buildNo - b.buildNo);
  return { builds: kept, lookedUp: lookUp.length };
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
