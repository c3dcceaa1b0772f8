import { z } from 'zod';
import type { JobProject } from '../domain/job.js';
import type { Page } from './job-list.js';

/** Jobs asked for per page of `GET /v1/job/list` (the API's maximum). */
export const FEED_PAGE_SIZE = 100;

/** A job as the global job list shows it: what the change feed needs to know. */
export interface ListedJob {
  id: string;
  name?: string;
  /**
   * Its newest build number (0: it never ran); undefined when the list gives no usable number (a
   * missing, null or non-numeric `build_number`): such a job is probed as if it were not listed.
   */
  newest: number | undefined;
  /** `last_build_time`, Unix milliseconds. */
  lastBuildTime?: number;
  /** `last_job_running_status` as CodeArts wrote it (Running, Finished, ...). */
  runningStatus?: string;
  project?: JobProject;
}

const count = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(/^\s*\d{1,15}\s*$/)
    .transform(Number),
]);

/** ListJobResultJobList: `build_number` is a string in the SDK model ('' for a job that never ran); a number is accepted too. */
const Item = z.looseObject({
  id: z.string().min(1),
  job_name: z.string().optional().catch(undefined),
  build_number: z.unknown(),
  last_build_time: count.optional().catch(undefined),
  last_job_running_status: z.string().optional().catch(undefined),
  project_id: z.string().optional().catch(undefined),
  project_name: z.string().optional().catch(undefined),
});

/** The page (ListJobResult, the envelope already taken off or never there): `total` and `job_list`. */
const FeedPageSchema = z.looseObject({ total: count, job_list: z.array(z.unknown()) });

export interface FeedPage extends Page<ListedJob> {
  /** Items without a usable `id`: left out (their jobs are probed as if not listed). */
  unreadable: number;
}

/**
 * One page of ListJob. The SDK's ListJobResponse is `{ status, result: { total, job_list } }`;
 * the client accepts it bare as well, and numbers as numeric strings. An item without an `id` is
 * left out rather than failing the page: the change feed only ever narrows what is probed.
 */
export function parseFeedPage(result: unknown): FeedPage | { problem: string } {
  const parsed = FeedPageSchema.safeParse(result);
  if (!parsed.success) {
    const keys = typeof result === 'object' && result !== null ? Object.keys(result).slice(0, 8).join(', ') : typeof result;
    return { problem: `unexpected job list shape (expected total and job_list; got ${keys || 'an empty object'})` };
  }
  const jobs: ListedJob[] = [];
  for (const raw of parsed.data.job_list) {
    const item = Item.safeParse(raw);
    if (item.success) jobs.push(toListedJob(item.data));
  }
  return { total: parsed.data.total, jobs, unreadable: parsed.data.job_list.length - jobs.length };
}

function toListedJob(item: z.output<typeof Item>): ListedJob {
  const job: ListedJob = { id: item.id, newest: parseBuildNumber(item.build_number) };
  if (item.job_name) job.name = item.job_name;
  if (item.last_build_time !== undefined) job.lastBuildTime = item.last_build_time;
  if (item.last_job_running_status) job.runningStatus = item.last_job_running_status;
  if (item.project_id) job.project = { id: item.project_id, name: item.project_name ?? '' };
  return job;
}

/** '' means the job never ran (0); a number or a numeric string is the build number; anything else is unusable. */
export function parseBuildNumber(raw: unknown): number | undefined {
  if (raw === '') return 0;
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d{1,9}\s*$/.test(raw) ? Number(raw) : Number.NaN;
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}
