import { z } from 'zod';
import type { JobRef } from '../domain/job.js';

/** Jobs asked for per page of `GET /v1/job/{project_id}/list` (the API's maximum). */
export const JOB_PAGE_SIZE = 100;

const count = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(/^\d{1,9}$/)
    .transform(Number),
]);
const JobItem = z.looseObject({ id: z.string().min(1), job_name: z.string().min(1) });

/**
 * One page of a project's job list. The official SDK's ListProjectJobsResponse is the bare
 * `{ total, jobs: [Job] }`; the global job list (and, the API notes report, some deployments of
 * this one) wraps `{ total, job_list }` in a `result` envelope, which the caller has already
 * unwrapped. Both item arrays are accepted, and `total` as a number or a numeric string.
 */
const JobPageSchema = z.union([
  z.looseObject({ total: count, jobs: z.array(JobItem) }).transform(({ total, jobs }) => ({ total, jobs })),
  z.looseObject({ total: count, job_list: z.array(JobItem) }).transform(({ total, job_list }) => ({ total, jobs: job_list })),
]);

export interface JobPage {
  total: number;
  jobs: JobRef[];
}

/** The page, or a message saying what is wrong with it. */
export function parseJobPage(result: unknown): JobPage | { problem: string } {
  const parsed = JobPageSchema.safeParse(result);
  if (!parsed.success) {
    const keys = typeof result === 'object' && result !== null ? Object.keys(result).slice(0, 8).join(', ') : typeof result;
    return { problem: `unexpected job list shape (expected total and jobs or job_list; got ${keys || 'an empty object'})` };
  }
  return { total: parsed.data.total, jobs: parsed.data.jobs.map((job) => ({ id: job.id, name: job.job_name })) };
}

/** How a listing ended: every job read, or stopped early for the stated reason. */
export interface Listing<T> {
  jobs: T[];
  total: number;
  /** Set when the listing stopped before `total` distinct jobs were read. */
  incomplete?: string;
}

export type JobListing = Listing<JobRef>;

/** One page as a listing reads it: the total the server reports and the page's jobs. */
export interface Page<T> {
  total: number;
  jobs: T[];
}

/**
 * Reads pages until `total` distinct jobs are read. A short page does not end the listing (a
 * server may cap pages below the size asked for); an empty page does, and so does a page count
 * past what `total` needs at the largest page size seen (a server that repeats itself never
 * reaches it): both are reported in `incomplete`. `parallel`: once the first page tells the total
 * and the page size, the pages that total needs are asked for at once (the client bounds how many
 * are in flight); any still missing are then read one by one as above.
 */
export async function readAllPages<T extends { id: string }>(
  fetchPage: (pageIndex: number) => Promise<Page<T>>,
  options: { parallel?: boolean } = {},
): Promise<Listing<T>> {
  const jobs = new Map<string, T>();
  let largestPage = 1;
  const take = (answer: Page<T>): void => {
    largestPage = Math.max(largestPage, answer.jobs.length);
    for (const job of answer.jobs) if (!jobs.has(job.id)) jobs.set(job.id, job);
  };
  let last = await fetchPage(0);
  let lastIndex = 0;
  take(last);
  if (options.parallel && last.jobs.length > 0 && jobs.size < last.total) {
    const needed = Math.min(Math.ceil(last.total / last.jobs.length), MAX_PAGES);
    const answers = await Promise.all(Array.from({ length: needed - 1 }, (_, i) => fetchPage(i + 1)));
    answers.forEach(take);
    const empty = answers.findIndex((answer) => answer.jobs.length === 0);
    lastIndex = empty >= 0 ? empty + 1 : needed - 1;
    last = answers[lastIndex - 1] ?? last;
  }
  for (;;) {
    const listing = { jobs: [...jobs.values()], total: last.total };
    if (jobs.size >= last.total) return listing;
    if (last.jobs.length === 0) return { ...listing, incomplete: `page ${lastIndex} was empty after ${jobs.size} of ${last.total} jobs` };
    if (lastIndex + 1 >= Math.min(Math.ceil(last.total / largestPage) + 2, MAX_PAGES)) {
      return { ...listing, incomplete: `${lastIndex + 1} pages held ${jobs.size} distinct of ${last.total} jobs` };
    }
    lastIndex += 1;
    last = await fetchPage(lastIndex);
    take(last);
  }
}

/** 100,000 jobs at the maximum page size: a bound on a listing that never ends. */
const MAX_PAGES = 1000;
