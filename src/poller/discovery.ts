import type { CodeArtsClient } from '../codearts/client.js';
import type { JobRef } from '../domain/job.js';
import { systemClock, type Clock } from '../support/clock.js';
import type { Events } from '../support/events.js';
import type { PollerEvent } from './events.js';

export interface ProjectSource {
  id: string;
  include?: string | undefined;
  exclude?: string | undefined;
}

interface ProjectFilter {
  project: ProjectSource;
  include?: RegExp;
  exclude?: RegExp;
}

/**
 * Lists build jobs of CodeArts projects and filters them by name. A project whose listing fails
 * keeps its last known job set, so an API hiccup never makes jobs (and their series) disappear.
 */
export class JobDiscovery {
  private readonly known = new Map<string, JobRef[]>();
  private readonly filters: ProjectFilter[];
  private nextAt = 0;

  constructor(
    private readonly client: CodeArtsClient,
    projects: readonly ProjectSource[],
    private readonly intervalMs: number,
    private readonly events: Events<PollerEvent>,
    private readonly clock: Clock = systemClock,
  ) {
    this.filters = projects.map((project) => ({
      project,
      ...(project.include ? { include: new RegExp(project.include, 'u') } : {}),
      ...(project.exclude ? { exclude: new RegExp(project.exclude, 'u') } : {}),
    }));
  }

  isDue(): boolean {
    return this.filters.length > 0 && this.clock.now() >= this.nextAt;
  }

  /** Lists every project (in parallel) and returns the filtered jobs, de-duplicated by id. */
  async discover(signal?: AbortSignal): Promise<JobRef[]> {
    this.nextAt = this.clock.now() + this.intervalMs;
    await Promise.all(this.filters.map((filter) => this.list(filter, signal)));
    return unionById(...this.known.values());
  }

  private async list({ project, include, exclude }: ProjectFilter, signal?: AbortSignal): Promise<void> {
    try {
      const listing = await this.client.listJobs(project.id, signal);
      let kept: JobRef[] = listing.jobs
        .filter((job) => (!include || include.test(job.name)) && !exclude?.test(job.name))
        .map((job) => ({ ...job, project: project.id }));
      // Jobs a short listing did not reach are kept: it must not stop polling them.
      if (listing.incomplete) kept = unionById(kept, this.known.get(project.id) ?? []);
      this.known.set(project.id, kept);
      const incomplete = listing.incomplete ? { listed: listing.jobs.length, total: listing.total, reason: listing.incomplete } : undefined;
      this.events.emit({ type: 'project_listed', projectId: project.id, jobs: kept.length, ...(incomplete ? { incomplete } : {}) });
    } catch (error) {
      if (signal?.aborted) throw error;
      this.events.emit({ type: 'project_failed', projectId: project.id, keptJobs: this.known.get(project.id)?.length ?? 0, error });
    }
  }
}

/** The jobs of every list, each id once (the first list that has it wins). */
function unionById(...lists: ReadonlyArray<readonly JobRef[]>): JobRef[] {
  const merged = new Map<string, JobRef>();
  for (const list of lists) for (const job of list) if (!merged.has(job.id)) merged.set(job.id, job);
  return [...merged.values()];
}
