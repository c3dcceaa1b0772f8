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
export interface JobListing {
  jobs: JobRef[];
  total: number;
  /** Set when the listing stopped before `total` distinct jobs were read. */
  incomplete?: string;
}

/**
 * Reads pages until `total` distinct jobs are read. A short page does not end the listing (a
 * server may cap pages below the size asked for); an empty page does, and so does a page count
 * past what `total` needs at the largest page size seen (a server that repeats itself never
 * reaches it): both are reported in `incomplete`.
 */
export async function readAllPages(fetchPage: (pageIndex: number) => Promise<JobPage>): Promise<JobListing> {
  const jobs = new Map<string, JobRef>();
  let largestPage = 1;
  for (let page = 0; ; page++) {
    const answer = await fetchPage(page);
    const total = answer.total;
    largestPage = Math.max(largestPage, answer.jobs.length);
    for (const job of answer.jobs) if (!jobs.has(job.id)) jobs.set(job.id, job);
    const listing = { jobs: [...jobs.values()], total };
    if (jobs.size >= total) return listing;
    if (answer.jobs.length === 0) return { ...listing, incomplete: `page ${page} was empty after ${jobs.size} of ${total} jobs` };
    if (page + 1 >= Math.min(Math.ceil(total / largestPage) + 2, MAX_PAGES)) {
      return { ...listing, incomplete: `${page + 1} pages held ${jobs.size} distinct of ${total} jobs` };
    }
  }
}

/** 100,000 jobs at the maximum page size: a bound on a listing that never ends. */
const MAX_PAGES = 1000;
