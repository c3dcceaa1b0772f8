import { appendFile, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import type { BuildListingPage } from '../codearts/build-listing.js';
import type { PastBuild } from './past-build.js';

/**
 * What an interrupted backfill keeps: FILE.progress, one JSON line per answer it had (a listing
 * page, a record-info lookup), after a header with the options the run was started with. A run with
 * the same options asks only for what is not there and writes the same file; the journal is
 * removed once the file is complete.
 */
export interface JournalHeader {
  /** The options as given (a resumed run must be given the same ones). */
  options: Record<string, unknown>;
  /** Unix milliseconds `--since` stood for when the run began: a resumed run keeps it, so its file is the same. */
  sinceMs: number;
  /** When the run began (Unix milliseconds): no listing window reaches past it. */
  startedAtMs: number;
}

type JournalLine =
  { job: string; window: number; page: number; answer: BuildListingPage } | { job: string; build: number; counted: PastBuild | null };

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
  private readonly pages = new Map<string, BuildListingPage>();
  private readonly lookups = new Map<string, PastBuild | null>();

  private constructor(
    readonly path: string,
    readonly header: JournalHeader,
    readonly resumed: boolean,
  ) {}

  /** Opens the journal next to `out`: continues a matching one, starts one otherwise. */
  static async open(out: string, options: Record<string, unknown>, begin: Omit<JournalHeader, 'options'>): Promise<BackfillJournal> {
    const path = `${out}.progress`;
    const text = await readFile(path, 'utf8').catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
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
    for (const line of lines.slice(1)) journal.remember(JSON.parse(line) as JournalLine);
    journal.answersBefore = journal.pages.size + journal.lookups.size;
    return journal;
  }

  /** A listing page answered before, if it was. */
  page(job: string, window: number, page: number): BuildListingPage | undefined {
    return this.pages.get(`${job}\u0000${window}\u0000${page}`);
  }

  /** What record-info said of a build before: the build, null when it was gone or unfinished, undefined when not asked yet. */
  lookup(job: string, build: number): PastBuild | null | undefined {
    return this.lookups.get(`${job}\u0000${build}`);
  }

  /** Answers the journal held when this run began (requests an earlier run made). */
  answersBefore = 0;

  async recordPage(job: string, window: number, page: number, answer: BuildListingPage): Promise<void> {
    await this.append({ job, window, page, answer });
  }

  async recordLookup(job: string, build: number, counted: PastBuild | null): Promise<void> {
    await this.append({ job, build, counted });
  }

  private async append(line: JournalLine): Promise<void> {
    this.remember(line);
    await appendFile(this.path, `${JSON.stringify(line)}\n`);
  }

  private remember(line: JournalLine): void {
    if ('page' in line) this.pages.set(`${line.job}\u0000${line.window}\u0000${line.page}`, line.answer);
    else this.lookups.set(`${line.job}\u0000${line.build}`, line.counted);
  }

  async remove(): Promise<void> {
    await rm(this.path, { force: true });
  }
}
