import { formatDuration } from '../config/duration.js';

/** What a backfill has done so far, for its progress display. */
export interface ProgressCounts {
  jobsDone: number;
  jobs: number;
  builds: number;
  requests: number;
}

export interface ProgressOptions {
  /** Writes a whole line (stderr). */
  line: (text: string) => void;
  /** Draws on a terminal (stderr), or undefined when stderr is not one: then one line per job done. */
  draw?: ((text: string) => void) | undefined;
  now?: () => number;
}

/**
 * Progress of a backfill: on a terminal a bar with jobs, builds, requests and the time left
 * (estimated from the jobs done so far); elsewhere (logs, CI) one line per job.
 */
export class BackfillProgress {
  private readonly startedAt: number;
  private readonly now: () => number;
  private drawn = false;

  constructor(private readonly options: ProgressOptions) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
  }

  update(counts: ProgressCounts): void {
    if (!this.options.draw) return;
    this.options.draw(`\r${this.barText(counts)}\u001b[K`);
    this.drawn = true;
  }

  jobDone(jobId: string, builds: number, counts: ProgressCounts): void {
    if (this.options.draw) {
      this.update(counts);
      return;
    }
    const eta = this.eta(counts);
    this.options.line(
      `job ${jobId}: ${builds} builds (${counts.jobsDone}/${counts.jobs} jobs, ${counts.builds} builds, ${counts.requests} requests${eta ? `, ${eta} left` : ''})`,
    );
  }

  /** A message that must not be drawn over. */
  note(text: string): void {
    this.finish();
    this.options.line(text);
  }

  finish(): void {
    if (this.drawn) this.options.draw?.('\n');
    this.drawn = false;
  }

  private eta(counts: ProgressCounts): string | undefined {
    if (counts.jobsDone === 0 || counts.jobsDone >= counts.jobs) return undefined;
    const perJob = (this.now() - this.startedAt) / counts.jobsDone;
    return formatDuration(Math.ceil((perJob * (counts.jobs - counts.jobsDone)) / 1000) * 1000);
  }

  private barText(counts: ProgressCounts): string {
    const eta = this.eta(counts);
    return `${bar(counts)}${eta ? ` ETA ${eta}` : ''}`;
  }
}

function bar(counts: ProgressCounts): string {
  const width = 24;
  const filled = counts.jobs === 0 ? width : Math.round((counts.jobsDone / counts.jobs) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] jobs ${counts.jobsDone}/${counts.jobs}, builds ${counts.builds}, requests ${counts.requests}`;
}
