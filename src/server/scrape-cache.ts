import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import type { ExpositionFormat } from '../metrics/exposition.js';
import { joinParts, type ExpositionPart } from '../metrics/exposition-part.js';
import { GzipPieces } from './gzip-pieces.js';

/** What `/metrics` renders: its parts in a format, and a version that grows whenever a part that matters (in any format) changes. */
export interface MetricsSource {
  version(): number;
  parts(format: ExpositionFormat): Promise<ExpositionPart[]>;
  /** Brings the metrics up to date before a scrape (a shared store: what other replicas committed); throws MetricsUnavailableError when it cannot. */
  refresh?(): Promise<void>;
}

/** The metrics cannot be brought up to date (the shared store is unreachable): `/metrics` answers 503 rather than frozen numbers. */
export class MetricsUnavailableError extends Error {
  override readonly name = 'MetricsUnavailableError';
}

/** Content codings of a `/metrics` body; zstd only where Node has it (22.15+, 24). */
export type Coding = 'gzip' | 'br' | 'zstd' | 'identity';

type Compress = (body: Buffer) => Promise<Buffer>;

const brotli = promisify(zlib.brotliCompress);
/** Quality 4: about 4.4% of the text, ~3 ms per MB; brotli is compressed from the whole text, in the thread pool. */
const compressBrotli: Compress = (body) =>
  brotli(body, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 4,
      [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length,
    },
  });

/** zlib.zstdCompress exists from Node 22.15 and 23.8; Node 20 has no zstd. */
function zstdCompressor(): Compress | undefined {
  const compress = (zlib as { zstdCompress?: (body: Buffer, callback: (error: Error | null, result: Buffer) => void) => void })
    .zstdCompress;
  if (typeof compress !== 'function') return undefined;
  return promisify(compress);
}

/** The codings this Node offers, in the order preferred when a client accepts several equally. */
export function availableCodings(): Coding[] {
  return zstdCompressor() ? ['gzip', 'zstd', 'br', 'identity'] : ['gzip', 'br', 'identity'];
}

/** One render: the parts as of one moment, and each coding of them built on first demand. */
class Snapshot {
  private readonly bodies = new Map<Coding, Promise<Buffer>>();
  private readonly inFlight = new Set<Coding>();

  constructor(
    readonly version: number,
    readonly createdAt: number,
    private readonly parts: readonly ExpositionPart[],
    private readonly encode: (coding: Coding, snapshot: Snapshot) => Promise<Buffer>,
  ) {}

  /** A body of this coding is being built right now. */
  building(coding: Coding): boolean {
    return this.inFlight.has(coding);
  }

  body(coding: Coding): Promise<Buffer> {
    let body = this.bodies.get(coding);
    if (!body) {
      this.inFlight.add(coding);
      body = this.encode(coding, this).finally(() => this.inFlight.delete(coding));
      // A failed build is not cached; the next scrape tries again.
      body.catch(() => this.bodies.delete(coding));
      this.bodies.set(coding, body);
    }
    return body;
  }

  text(): Promise<string> {
    return joinParts(this.parts);
  }

  allParts(): readonly ExpositionPart[] {
    return this.parts;
  }
}

export interface ScrapeCacheOptions {
  /** A body is rendered again after this long even if the version did not change (untracked series). */
  maxAgeMs: number;
}

/**
 * The `/metrics` bodies, rendered once per format and served to every scraper until the metrics
 * change or `maxAgeMs` passes. Scrapes that arrive while a body of their format and coding is being
 * rendered wait for that render instead of starting their own, so N concurrent scrapers cost one
 * render. gzip is assembled from cached per-part pieces (parts the formats share share their
 * pieces); brotli and zstd compress the whole text in the thread pool. Only the latest render of
 * each format is kept.
 */
export class ScrapeCache {
  readonly codings: readonly Coding[] = availableCodings();
  private readonly gzip = new GzipPieces();
  private readonly zstd = zstdCompressor();
  private readonly current = new Map<ExpositionFormat, Snapshot>();
  private readonly collecting = new Map<ExpositionFormat, Promise<Snapshot>>();
  private renders = 0;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly source: MetricsSource,
    private readonly options: ScrapeCacheOptions,
  ) {}

  /** Bodies built so far, of any format and coding; for tests and the bench. */
  get renderCount(): number {
    return this.renders;
  }

  /** The body in the given coding and format, from the cache when it is still current. */
  async body(coding: Coding, format: ExpositionFormat = 'text'): Promise<Buffer> {
    if (!this.codings.includes(coding)) throw new Error(`coding ${coding} is not available in Node ${process.version}`);
    if (this.source.refresh) {
      // Concurrent scrapes share one refresh.
      this.refreshing ??= this.source.refresh().finally(() => (this.refreshing = undefined));
      await this.refreshing;
    }
    const snapshot = await this.snapshotFor(coding, format);
    return snapshot.body(coding);
  }

  private snapshotFor(coding: Coding, format: ExpositionFormat): Promise<Snapshot> {
    const current = this.current.get(format);
    // Join a render of this coding that is running, even if the metrics changed since it began.
    if (current && (current.building(coding) || this.isFresh(current))) return Promise.resolve(current);
    let collecting = this.collecting.get(format);
    if (!collecting) {
      collecting = this.collect(format).finally(() => this.collecting.delete(format));
      this.collecting.set(format, collecting);
    }
    return collecting;
  }

  private isFresh(snapshot: Snapshot): boolean {
    return snapshot.version === this.source.version() && performance.now() - snapshot.createdAt < this.options.maxAgeMs;
  }

  private async collect(format: ExpositionFormat): Promise<Snapshot> {
    // The version before the parts: a change while they are collected makes the snapshot stale at once.
    const version = this.source.version();
    const createdAt = performance.now();
    const parts = await this.source.parts(format);
    const snapshot = new Snapshot(version, createdAt, parts, (coding, of) => this.encode(coding, of));
    this.current.set(format, snapshot);
    return snapshot;
  }

  private async encode(coding: Coding, snapshot: Snapshot): Promise<Buffer> {
    this.renders += 1;
    switch (coding) {
      case 'identity':
        return Buffer.from(await snapshot.text(), 'utf8');
      case 'gzip':
        return this.gzip.gzip(snapshot.allParts());
      case 'br':
        return compressBrotli(await snapshot.body('identity'));
      case 'zstd':
        if (!this.zstd) throw new Error('zstd is not available');
        return this.zstd(await snapshot.body('identity'));
    }
  }
}
