import type { CodeArtsClient } from '../codearts/client.js';
import type { JobRef } from '../domain/job.js';
import type { Logger } from '../log/logger.js';
import { systemClock, type Clock } from '../support/clock.js';

export interface ProjectSource {
  id: string;
  include?: string | undefined;
  exclude?: string | undefined;
}

export interface DiscoveryObserver {
  onProject(event: { projectId: string; jobs: number; ok: boolean }): void;
}

/**
 * Lists build jobs of CodeArts projects and filters them by name. A project whose listing fails
 * keeps its last known job set, so an API hiccup never makes jobs (and their series) disappear.
 */
export class JobDiscovery {
  private readonly known = new Map<string, Array<JobRef>>();
  private readonly filters: Array<{ project: ProjectSource; include?: RegExp; exclude?: RegExp }>;
  private nextAt = 0;

  constructor(
    private readonly client: CodeArtsClient,
    projects: readonly ProjectSource[],
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly observer: DiscoveryObserver,
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
  async discover(signal?: AbortSignal): Promise<Array<JobRef>> {
    this.nextAt = this.clock.now() + this.intervalMs;
    await Promise.all(
      this.filters.map(async ({ project, include, exclude }) => {
        try {
          const listing = await this.client.listJobs(project.id, signal);
          let kept = listing.jobs.filter((job) => (!include || include.test(job.name)) && !(exclude && exclude.test(job.name)));
          if (listing.incomplete) {
            // Jobs the listing did not reach are kept: a short listing must not stop polling them.
            kept = unionById(kept, this.known.get(project.id) ?? []);
            this.logger.warn(
              { project_id: project.id, listed: listing.jobs.length, total: listing.total, kept_jobs: kept.length, reason: listing.incomplete },
              'job list ended before its total; keeping the last known jobs as well',
            );
          }
          this.known.set(project.id, kept);
          this.observer.onProject({ projectId: project.id, jobs: kept.length, ok: !listing.incomplete });
        } catch (error) {
          if (signal?.aborted) throw error;
          const kept = this.known.get(project.id)?.length ?? 0;
          this.observer.onProject({ projectId: project.id, jobs: kept, ok: false });
          this.logger.warn({ err: error, project_id: project.id, kept_jobs: kept }, 'job discovery failed; keeping the last known jobs');
        }
      }),
    );
    const merged = new Map<string, JobRef>();
    for (const jobs of this.known.values()) for (const job of jobs) if (!merged.has(job.id)) merged.set(job.id, job);
    return [...merged.values()];
  }
}

function unionById(first: ReadonlyArray<JobRef>, second: ReadonlyArray<JobRef>): Array<JobRef> {
  const merged = new Map(first.map((job) => [job.id, job]));
  for (const job of second) if (!merged.has(job.id)) merged.set(job.id, job);
  return [...merged.values()];
}

/**
 * Static jobs plus discovered ones; a static `name` wins, a static job without one takes the
 * discovered name, else its id.
 */
export function mergeJobs(
  staticJobs: ReadonlyArray<{ id: string; name?: string | undefined }>,
  discovered: ReadonlyArray<JobRef>,
): Array<JobRef> {
  const names = new Map(discovered.map((job) => [job.id, job.name]));
  const merged = new Map<string, JobRef>();
  for (const job of staticJobs) merged.set(job.id, { id: job.id, name: job.name ?? names.get(job.id) ?? job.id });
  for (const job of discovered) if (!merged.has(job.id)) merged.set(job.id, job);
  return [...merged.values()];
}
