import { appendFile, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import type { PastBuild } from './past-build.js';

/**
 * What an interrupted backfill keeps: FILE.progress, one JSON line per finished piece of work (a
 * job's listing window with the record-info answers it needed), after a header with the options
 * the run was started with. A run with the same options continues from it and writes the same file;
 * the journal is removed once the file is complete.
 */
export interface JournalHeader {
  /** The options as given (a resumed run must be given the same ones). */
  options: Record<string, unknown>;
  /** Unix milliseconds `--since` stood for when the run began: a resumed run keeps it, so its file is the same. */
  sinceMs: number;
  /** When the run began (Unix milliseconds): no listing window reaches past it. */
  startedAtMs: number;
}

interface WindowLine {
  job: string;
  window: number;
  builds: PastBuild[];
  requests: number;
}

export class JournalMismatchError extends Error {
  override readonly name = 'JournalMismatchError';
  constructor(
    readonly path: string,
    readonly differences: string[],
  ) {
    super(
      `${path} is the progress of a backfill started with other options (${differences.join('; ')}): ` +
        `run it again with the same options to continue, or delete ${path} to start over`,
    );
  }
}

export class BackfillJournal {
  private readonly windows = new Map<string, WindowLine>();

  private constructor(
    readonly path: string,
    readonly header: JournalHeader,
    readonly resumed: boolean,
  ) {}

  /** Opens the journal next to `out`: continues a matching one, starts one otherwise. */
  static async open(out: string, options: Record<string, unknown>, begin: Omit<JournalHeader, 'options'>): Promise<BackfillJournal> {
    const path = `${out}.progress`;
    const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    // The last line may have been cut by the interruption: it is dropped, and the file cut back to
    // the last whole line so that the next line starts on a line of its own.
    const whole = text?.slice(0, text.lastIndexOf('\n') + 1) ?? '';
    if (whole === '') {
      const journal = new BackfillJournal(path, { options, ...begin }, false);
      await writeFile(path, `${JSON.stringify(journal.header)}\n`);
      return journal;
    }
    if (text !== undefined && whole.length < text.length) await truncate(path, Buffer.byteLength(whole));
    const lines = whole.slice(0, -1).split('\n');
    const header = JSON.parse(lines[0] ?? '{}') as JournalHeader;
    const differences = Object.keys({ ...header.options, ...options })
      .filter((key) => JSON.stringify(header.options[key]) !== JSON.stringify(options[key]))
      .map((key) => `${key}: ${JSON.stringify(header.options[key])} then, ${JSON.stringify(options[key])} now`);
    if (differences.length > 0) throw new JournalMismatchError(path, differences);
    const journal = new BackfillJournal(path, header, true);
    for (const line of lines.slice(1)) {
      const entry = JSON.parse(line) as WindowLine;
      journal.windows.set(key(entry.job, entry.window), entry);
    }
    return journal;
  }

  /** The builds of a window read before, if it was. */
  done(job: string, window: number): PastBuild[] | undefined {
    return this.windows.get(key(job, window))?.builds;
  }

  /** Requests the windows read before took (for the summary: a resumed run's total). */
  get earlierRequests(): number {
    return [...this.windows.values()].reduce((sum, entry) => sum + entry.requests, 0);
  }

  async record(job: string, window: number, builds: PastBuild[], requests: number): Promise<void> {
    const entry: WindowLine = { job, window, builds, requests };
    this.windows.set(key(job, window), entry);
    await appendFile(this.path, `${JSON.stringify(entry)}\n`);
  }

  async remove(): Promise<void> {
    await rm(this.path, { force: true });
  }
}

function key(job: string, window: number): string {
  return `${job}\u0000${window}`;
}
