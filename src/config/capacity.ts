import { schedulePeriodSeconds } from '../support/cron.js';
import type { Config } from './schema.js';

/**
 * Requests to CodeArts per job and poll cycle in the steady state: one probe for the next build
 * number, plus each new build and each running one fetched again, plus the occasional gap check.
 * `npm run bench` measured 1.24-1.33 (scenarios floor and rss1k: 1,000 jobs, a build every 15
 * minutes per job, 30 s cycles); a fleet that builds more often needs more. At the defaults (10
 * requests/s, a cycle every 30 s) that carries about 225 jobs.
 */
export const REQUESTS_PER_JOB_PER_CYCLE = 4 / 3;

export interface Capacity {
  /** Jobs listed under `jobs` (discovered jobs come on top). */
  staticJobs: number;
  periodSeconds: number;
  /** A 5-field cron expression: its first field is minutes. */
  fiveFields: boolean;
  requestsPerCycle: number;
  requestsPerSecond: number;
  /** codearts.max_requests_per_second */
  budget: number;
  /** Seconds a cycle of the static jobs takes at the request budget (latency and concurrency aside). */
  cycleSeconds: number;
  /** Jobs the budget carries at this schedule. */
  jobsCarried: number;
}

export function capacityOf(config: Config): Capacity {
  const periodSeconds = schedulePeriodSeconds(config.poll.schedule, config.poll.timezone);
  const staticJobs = config.jobs.length;
  const requestsPerCycle = staticJobs * REQUESTS_PER_JOB_PER_CYCLE;
  const budget = config.codearts.max_requests_per_second;
  return {
    staticJobs,
    periodSeconds,
    fiveFields: config.poll.schedule.trim().split(/\s+/).length === 5,
    requestsPerCycle,
    requestsPerSecond: requestsPerCycle / periodSeconds,
    budget,
    cycleSeconds: requestsPerCycle / budget,
    jobsCarried: Math.floor((budget * periodSeconds) / REQUESTS_PER_JOB_PER_CYCLE),
  };
}

/** `30 s`, `5 min`, `1 h 30 min`. */
function period(seconds: number): string {
  if (seconds < 60 || seconds % 60 !== 0) return `${round(seconds)} s`;
  const minutes = seconds / 60;
  if (minutes < 60 || minutes % 60 !== 0) return `${minutes} min`;
  return `${minutes / 60} h`;
}

function round(value: number): string {
  if (value >= 100) return String(Math.round(value));
  if (value >= 10) return value.toFixed(1).replace(/\.0$/, '');
  return value.toPrecision(2).replace(/\.?0+$/, '');
}

function rate(perSecond: number): string {
  return perSecond < 0.01 ? '< 0.01/s' : `~${round(perSecond)}/s`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * What `validate` says about the request rate the config implies: a line for stdout, and warnings
 * when the schedule cannot be met within the request budget or when a 5-field cron expression
 * polls every N minutes where N seconds may have been meant.
 */
export function describeCapacity(config: Config): { line: string; warnings: string[] } {
  const c = capacityOf(config);
  const discovered = config.projects.length > 0 ? `; the jobs discovered in ${plural(config.projects.length, 'project')} add to it` : '';
  const line =
    `requests to CodeArts: ${rate(c.requestsPerSecond)} for ${plural(c.staticJobs, 'static job')} polled every ${period(c.periodSeconds)} ` +
    `(~${REQUESTS_PER_JOB_PER_CYCLE.toFixed(2)} per job and cycle${discovered}); codearts.max_requests_per_second ${c.budget} ` +
    `carries about ${c.jobsCarried} jobs at this schedule`;
  const warnings: string[] = [];
  if (c.cycleSeconds > c.periodSeconds) {
    warnings.push(
      `poll.schedule cannot be met within the request budget: ${plural(c.staticJobs, 'job')} need ~${Math.round(c.requestsPerCycle)} requests ` +
        `per cycle, ${Math.round(c.cycleSeconds)} s at codearts.max_requests_per_second ${c.budget}, but a cycle starts every ${period(c.periodSeconds)}: ` +
        `ticks will be skipped (codearts_exporter_skipped_polls_total). Raise max_requests_per_second to at least ` +
        `${Math.ceil(c.requestsPerSecond)} if your CodeArts quota allows, or poll less often.`,
    );
  }
  if (c.fiveFields) {
    const [first = '', ...rest] = config.poll.schedule.trim().split(/\s+/);
    const step = /^\*\/(\d+)$/.exec(first)?.[1];
    const seconds = step
      ? ` For every ${step} seconds, write ${JSON.stringify(['*/' + step, '*', ...rest.map(() => '*')].join(' '))}.`
      : '';
    warnings.push(
      `poll.schedule ${JSON.stringify(config.poll.schedule)} has 5 fields, so its first field is minutes: a cycle every ${period(c.periodSeconds)}. ` +
        `A 6-field expression starts with seconds.${seconds}`,
    );
  }
  return { line, warnings };
}
