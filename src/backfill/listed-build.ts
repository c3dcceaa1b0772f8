import type { RecordLookup } from '../codearts/client.js';
import { MAX_LISTING_PAGE_SIZE, MAX_LISTING_WINDOW_MS, type ListedBuild } from '../codearts/build-listing.js';
import { InvalidRecordError, parseRecord } from '../codearts/record.js';
import type { BuildRecord, RecordLabelName } from '../domain/build.js';
import { countedBuild } from '../domain/counters.js';
import type { ListedVerdict } from './job-history.js';
import type { PastBuild } from './past-build.js';

/** How the listing is read: the longest window and the page size the API accepts. */
export const LISTING_PAGING = { maxWindowMs: MAX_LISTING_WINDOW_MS, pageSize: MAX_LISTING_PAGE_SIZE, firstPage: 0 };

/** Record labels the listing carries (`code_branch`, `build_type`); any other configured one needs record-info. */
const LISTED_LABELS: ReadonlySet<RecordLabelName> = new Set(['branch', 'build_type']);

export interface DescribeOptions {
  recordLabels: readonly RecordLabelName[];
  /** Queue times are wanted: only record-info has a build's creation time. */
  queueTimes: boolean;
}

/**
 * What a listing entry says of a build, read by the same parser as a record-info answer (so result,
 * trigger and duration mean exactly what the live poller counts): the build itself when the entry
 * says everything counting needs; record-info when it does not (a label or the queue time it lacks,
 * a status it does not make clear, an implausible time); nothing for a build still running.
 */
export function describeListed(listed: ListedBuild, options: DescribeOptions): ListedVerdict {
  if (!listed.phase.finished) return listed.phase.recognised ? { kind: 'unfinished' } : { kind: 'record-info' };
  if (options.queueTimes || options.recordLabels.some((label) => !LISTED_LABELS.has(label))) return { kind: 'record-info' };
  // code_branch names the tag of a tag build; record-info's branch may not: only branch builds are read from the listing.
  if (options.recordLabels.includes('branch') && listed.buildType !== 'branch') return { kind: 'record-info' };
  let record: BuildRecord;
  try {
    record = parseRecord('listing', listed.buildNo, asRecordInfo(listed));
  } catch (error) {
    if (error instanceof InvalidRecordError) return { kind: 'record-info' };
    throw error;
  }
  const { phase } = record;
  const sameResult = phase.finished && phase.result === listed.phase.result;
  if (
    !sameResult ||
    !phase.recognised ||
    record.problems.length > 0 ||
    record.finishedAt === undefined ||
    record.durationSeconds === undefined
  )
    return { kind: 'record-info' };
  return {
    kind: 'described',
    build: {
      buildNo: listed.buildNo,
      finishedAt: record.finishedAt,
      counted: countedBuild(record, phase.result, undefined),
      source: 'listing',
    },
  };
}

/** A build looked up with record-info: counted as the live poller would; undefined when it is gone or not finished. */
export function pastBuildFromRecord(lookup: RecordLookup): PastBuild | undefined {
  if (!lookup.found) return undefined;
  const { record } = lookup;
  if (!record.phase.finished || record.finishedAt === undefined) return undefined;
  return {
    buildNo: record.buildNo,
    finishedAt: record.finishedAt,
    counted: countedBuild(record, record.phase.result, record.queueSeconds),
    source: 'record-info',
  };
}

/** The listing entry in record-info's terms. */
function asRecordInfo(listed: ListedBuild): Record<string, unknown> {
  const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    build_no: listed.buildNo,
    status: listed.rawStatus,
    trigger_type: listed.triggerType,
    start_time: iso(listed.startedAtMs),
    finish_time: iso(listed.finishedAtMs),
    duration: listed.durationMs ?? null,
    branch: listed.branch ?? null,
    build_type: listed.buildType ?? null,
  };
}
