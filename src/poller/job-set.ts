import type { JobRef } from '../domain/job.js';
import type { Store, StoredJob } from '../state/store.js';
import { unixSeconds, type Clock } from '../support/clock.js';
import type { Events } from '../support/events.js';
import type { JobDiscovery } from './discovery.js';
import type { PollerEvent } from './events.js';
import { freshGapMemory, type GapMemory } from './gap-policy.js';

/**
 * A job of the config's `jobs`: its name defaults to the discovered one (else its id); its project
 * is its own `project` or none, never the discovered one, so that its series have the same labels
 * from the first scrape after a start, whether or not a listing has answered yet.
 */
export interface StaticJob {
  id: string;
  name?: string | undefined;
  project?: string | undefined;
}

/** A job being polled, with what the poller remembers about it in memory only. */
export interface PolledJob extends JobRef {
  memory: GapMemory;
  /** Unix seconds of the last cycle that reached CodeArts for it. */
  lastReachedAt?: number;
  /** Started at 0 because its newest build could not be found: looked for again from `retryAt`. */
  unsure?: { retryAt: number; failures: number };
  /** What the store held after its last commit (the landing page). */
  stored?: StoredJob | undefined;
}

export interface JobSetOptions {
  store: Store;
  events: Events<PollerEvent>;
  clock: Clock;
  /** `jobs` of the config: always polled; a `name` there wins over the discovered one, the `project` is the static one. */
  staticJobs: readonly StaticJob[];
  /** Lists `projects` when due; without it the set is the static jobs. */
  discovery?: JobDiscovery | undefined;
  /** How long a job that left discovery keeps its series (`poll.removed_job_grace`). */
  graceMs: number;
  /** How long it keeps its saved state (`state.keep_removed_jobs`). */
  keepMs: number;
}

interface Departed {
  job: PolledJob;
  /** Unix milliseconds. */
  since: number;
  seriesRemoved: boolean;
}

/**
 * The jobs to poll and their lifecycle: static jobs plus discovered ones; a new job starts from its
 * saved state or per start_at; a renamed job keeps its counts; a job that left stops being polled,
 * its series go after the grace period and its saved state after `keepMs`, so a job that comes back
 * in between does not count its history again.
 */
export class JobSet {
  private readonly active = new Map<string, PolledJob>();
  private readonly departed = new Map<string, Departed>();
  /** Saved state of every job, for jobs that appear after start-up (discovery). */
  private saved = new Map<string, StoredJob>();
  private discovered: JobRef[] = [];

  constructor(private readonly options: JobSetOptions) {}

  /** Loads the saved state and shows the static jobs with what they had counted. */
  async init(): Promise<void> {
    this.saved = await this.options.store.load();
    for (const job of this.options.staticJobs) this.add({ id: job.id, name: job.name ?? job.id, project: job.project }, 'start');
  }

  jobs(): PolledJob[] {
    return [...this.active.values()];
  }

  /** Lists projects when discovery is due; every cycle applies the grace and retention periods. */
  async refresh(signal?: AbortSignal): Promise<void> {
    const { discovery } = this.options;
    if (!discovery) return;
    if (discovery.isDue()) this.discovered = await discovery.discover(signal);
    if (signal?.aborted) return;
    await this.reconcile(mergeJobs(this.options.staticJobs, this.discovered));
  }

  /** Makes the polled set equal `wanted`. */
  async reconcile(wanted: readonly JobRef[]): Promise<void> {
    const wantedIds = new Set(wanted.map((job) => job.id));
    for (const job of wanted) this.want(job);
    for (const [id, job] of this.active) if (!wantedIds.has(id)) this.leave(job);
    await this.expire(this.options.clock.now());
  }

  private want(job: JobRef): void {
    const active = this.active.get(job.id);
    if (active) {
      if (active.name !== job.name || active.project !== job.project) this.rename(active, job);
      return;
    }
    const back = this.departed.get(job.id);
    if (!back) {
      this.add(job, 'new');
      return;
    }
    this.departed.delete(job.id);
    this.active.set(job.id, back.job);
    const old = { name: back.job.name, project: back.job.project };
    back.job.name = job.name;
    back.job.project = job.project;
    this.options.events.emit({ type: 'job_added', job: back.job, stored: back.job.stored, reason: 'back' });
    if (old.name !== job.name || old.project !== job.project)
      this.options.events.emit({ type: 'job_renamed', job: back.job, oldName: old.name });
  }

  private add(job: JobRef, reason: 'start' | 'new'): void {
    const polled: PolledJob = { ...job, memory: freshGapMemory(unixSeconds(this.options.clock)), stored: this.saved.get(job.id) };
    this.active.set(job.id, polled);
    this.options.events.emit({ type: 'job_added', job: polled, stored: polled.stored, reason });
  }

  /** A job renamed in CodeArts (or first seen in its project) keeps its counts under the new `job_name` (or `project`). */
  private rename(job: PolledJob, to: JobRef): void {
    const oldName = job.name;
    job.name = to.name;
    job.project = to.project;
    this.options.events.emit({ type: 'job_renamed', job, oldName });
  }

  private leave(job: PolledJob): void {
    this.active.delete(job.id);
    this.departed.set(job.id, { job, since: this.options.clock.now(), seriesRemoved: false });
    this.options.events.emit({ type: 'job_left', job });
  }

  private async expire(now: number): Promise<void> {
    for (const [id, entry] of this.departed) {
      if (!entry.seriesRemoved && now - entry.since >= this.options.graceMs) {
        entry.seriesRemoved = true;
        this.options.events.emit({ type: 'job_expired', job: entry.job });
      }
      if (now - entry.since >= this.options.keepMs) {
        this.departed.delete(id);
        this.saved.delete(id);
        await this.options.store.forget(id);
      }
    }
  }
}

/**
 * Static jobs plus discovered ones; a static `name` wins, a static job without one takes the
 * discovered name, else its id. A static job's project is its own `project` (else none), also when
 * discovery lists it: its labels must not change when the first listing arrives after a restart.
 */
export function mergeJobs(staticJobs: readonly StaticJob[], discovered: readonly JobRef[]): JobRef[] {
  const listed = new Map(discovered.map((job) => [job.id, job]));
  const merged = new Map<string, JobRef>();
  for (const job of staticJobs) {
    const found = listed.get(job.id);
    merged.set(job.id, { id: job.id, name: job.name ?? found?.name ?? job.id, project: job.project });
  }
  for (const job of discovered) if (!merged.has(job.id)) merged.set(job.id, job);
  return [...merged.values()];
}
