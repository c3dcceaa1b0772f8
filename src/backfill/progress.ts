import { formatDuration } from '../config/duration.js';

/** What a backfill has done so far, for its progress display. */
export interface ProgressCounts {
  jobsDone: number;
  jobs: number;
  builds: number;
  requests: number;
}

export interface ProgressOptions {
  /** Where progress goes (stderr). */
  write: (text: string) => void;
  /** A terminal: one line redrawn in place; otherwise one line per job done. */
  tty: boolean;
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
    if (!this.options.tty) return;
    this.options.write(`\r${this.barText(counts)}\u001b[K`);
    this.drawn = true;
  }

  jobDone(jobId: string, builds: number, counts: ProgressCounts): void {
    if (this.options.tty) {
      this.update(counts);
      return;
    }
    const eta = this.eta(counts);
    this.options.write(
      `job ${jobId}: ${builds} builds (${counts.jobsDone}/${counts.jobs} jobs, ${counts.builds} builds, ${counts.requests} requests${eta ? `, ${eta} left` : ''})\n`,
    );
  }

  /** A message that must not be drawn over. */
  note(text: string): void {
    if (this.drawn) this.options.write('\n');
    this.drawn = false;
    this.options.write(`${text}\n`);
  }

  finish(): void {
    if (this.drawn) this.options.write('\n');
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
