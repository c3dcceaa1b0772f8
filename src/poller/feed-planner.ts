import type { ListedJob } from '../codearts/job-feed.js';
import type { JobState } from '../domain/job.js';
import { unixSeconds, type Clock } from '../support/clock.js';
import type { Events } from '../support/events.js';
import type { FeedSnapshot } from './change-feed.js';
import type { PollerEvent } from './events.js';
import type { JobCycleResult } from './job-cycle.js';
import type { PolledJob } from './job-set.js';
import { isFullProbeDue, nextMiss, planProbe, type ProbePlan } from './probe-plan.js';

/**
 * Turns the change feed's snapshot into each job's plan for the cycle, and learns from the cycle
 * afterwards: when the job's last full probe ran, a listed number its probes could not reach, its
 * project, and the builds a safety probe found that the list had not shown.
 */
export class FeedPlanner {
  constructor(
    private readonly events: Events<PollerEvent>,
    private readonly clock: Clock,
    /** `poll.full_probe_interval`, seconds. */
    private readonly fullProbeSeconds: number,
  ) {}

  plan(job: PolledJob, state: JobState, snapshot: FeedSnapshot | undefined): ProbePlan {
    const listed = snapshot?.jobs.get(job.id);
    if (listed) this.noteProject(job, listed);
    const lastFullAt = job.feed?.lastFullAt;
    // A process's first cycle of a job is the cycle without the list: it does not know when the
    // previous process last probed the job fully, and a cold start costs what it costs without it.
    if (lastFullAt === undefined) return { kind: 'full' };
    return planProbe({
      state,
      memory: job.memory,
      listed,
      fullProbeDue: isFullProbeDue(job.id, lastFullAt, unixSeconds(this.clock), this.fullProbeSeconds),
      unsure: job.unsure !== undefined,
      miss: job.feed?.miss,
    });
  }

  /** After the job's cycle (not after a skip): what the next plan needs to know. */
  after(job: PolledJob, plan: Exclude<ProbePlan, { kind: 'skip' }>, cursorBefore: number, cycle: JobCycleResult): void {
    const feed = (job.feed ??= {});
    if (plan.kind === 'full' || plan.kind === 'safety') feed.lastFullAt = unixSeconds(this.clock);
    if (plan.kind === 'full') {
      delete feed.miss;
      return;
    }
    const cursor = { before: cursorBefore, after: cycle.next.cursor };
    const miss = nextMiss(feed.miss, plan.listed, cursor, cycle.errors.length > 0);
    if (miss) feed.miss = miss;
    else delete feed.miss;
    if (plan.kind !== 'safety') return;
    const unlisted = cycle.advanced.filter((buildNo) => buildNo > plan.listed);
    if (unlisted.length > 0) this.events.emit({ type: 'safety_probe_found', job, builds: unlisted, listed: plan.listed });
  }

  private noteProject(job: PolledJob, listed: ListedJob): void {
    const project = listed.project;
    if (!project || (job.listedProject?.id === project.id && job.listedProject.name === project.name)) return;
    const previous = job.listedProject;
    job.listedProject = project;
    this.events.emit({ type: 'job_project', job, project, previous });
  }
}
