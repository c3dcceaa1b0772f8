import { Agent, request } from 'node:http';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { gunzipSync } from 'node:zlib';

/**
 * Scrapers that fetch /metrics nonstop, in a worker thread: like Prometheus servers on other
 * machines, their HTTP client, decompression and checks cost the exporter's event loop nothing.
 * Used by the bench (scenario scrape-load) and test/integration/scrape-load.test.ts.
 */

/** What Prometheus 2.x sends (scrape.go): it accepts the text format 0.0.4 and gzip. */
export const PROMETHEUS_HEADERS = {
  accept:
    'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
  'accept-encoding': 'gzip',
  'user-agent': 'Prometheus/2.42.0',
};

/** A complete body ends with its last family in full and holds at least `minSeries` lines starting with `seriesPrefix`. */
export interface BodyExpectation {
  lastFamily: string;
  tailName: string;
  seriesPrefix: string;
  minSeries: number;
  /** The body is OpenMetrics: it ends with `# EOF`, after the last family. */
  openMetrics?: boolean;
}

export interface ScrapeLoadOptions {
  url: string;
  scrapers: number;
  durationMs: number;
  expect: BodyExpectation;
  /** Bodies returned in full (the first decoded by each of this many scrapers), for a deeper check by the caller. */
  keepBodies: number;
}

export interface ScrapeLoadResult {
  scrapes: number;
  /** The first failures (status, coding, length, completeness), at most 20. */
  failures: string[];
  failureCount: number;
  latenciesMs: number[];
  /** Bytes on the wire (gzip) and after decompression. */
  transferredBytes: number;
  plainBytes: number;
  /** Distinct bodies decompressed and checked in full (the others were byte-equal to one of them). */
  decoded: number;
  bodies: string[];
}

/** Runs the scrapers in a worker thread; resolves when they are done. */
export function runScrapeLoad(options: ScrapeLoadOptions): Promise<ScrapeLoadResult> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { scrapeLoad: options } });
  return new Promise((resolve, reject) => {
    worker.once('message', (result: ScrapeLoadResult) => resolve(result));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`scrape worker exited with ${code}`));
    });
  });
}

const EOF = '# EOF\n';

/** What a complete body looks like, from a quiet scrape in the same format: its last family and how its text ends. */
export function expectationOf(reference: string, seriesPrefix: string, minSeries: number): BodyExpectation {
  const body = reference.endsWith(EOF) ? reference.slice(0, -EOF.length) : reference;
  const lastFamily = [...body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].at(-1)?.[1] ?? '';
  const tailName = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(body.trimEnd().split('\n').at(-1) ?? '')?.[0] ?? '';
  return { lastFamily, tailName, seriesPrefix, minSeries, openMetrics: body !== reference };
}

/** What is wrong with a body, or undefined. */
export function checkBody(whole: string, expect: BodyExpectation): string | undefined {
  if (expect.openMetrics && !whole.endsWith(EOF)) return 'no # EOF';
  const text = expect.openMetrics ? whole.slice(0, -EOF.length) : whole;
  if (!text.endsWith('\n')) return 'no final newline';
  const lastTypeAt = text.lastIndexOf('\n# TYPE ');
  if (!text.startsWith(`# TYPE ${expect.lastFamily} `, lastTypeAt + 1)) return 'last family missing';
  const last = text.slice(text.lastIndexOf('\n', text.length - 2) + 1);
  if (!last.startsWith(expect.tailName)) return `ends with ${JSON.stringify(last.slice(0, 80))}`;
  let series = 0;
  const needle = `\n${expect.seriesPrefix}`;
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) series++;
  if (series < expect.minSeries) return `${series} ${expect.seriesPrefix} series, expected ${expect.minSeries}`;
  return undefined;
}

interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function get(url: string, agent: Agent): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: PROMETHEUS_HEADERS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Checks responses to Prometheus' headers. A cached body is served to many scrapers byte for byte,
 * so each distinct gzip body is decompressed and checked once; a later response equal to it (all
 * bytes compared) is as complete as it was. Keeps the scrapers' CPU (which this machine shares with
 * the exporter) for scraping, not for decompressing the same text thousands of times.
 */
class ResponseChecker {
  /** Verified gzip bodies by length, with their plain length. */
  private readonly verified = new Map<number, Array<{ gzip: Buffer; plainBytes: number }>>();

  constructor(private readonly expect: BodyExpectation) {}

  /** What is wrong, or undefined; the plain length; the text when it was decoded now. */
  check(response: Response): { problem?: string; plainBytes: number; text?: string } {
    if (response.status !== 200) return { problem: `status ${response.status}`, plainBytes: 0 };
    const type = String(response.headers['content-type']);
    const want = this.expect.openMetrics
      ? 'application/openmetrics-text; version=1.0.0; charset=utf-8'
      : 'text/plain; version=0.0.4; charset=utf-8';
    if (type !== want) return { problem: `content type ${type}`, plainBytes: 0 };
    if (response.headers['content-encoding'] !== 'gzip')
      return { problem: `content encoding ${String(response.headers['content-encoding'])}`, plainBytes: 0 };
    const length = response.body.length;
    if (Number(response.headers['content-length']) !== length)
      return { problem: `content length ${String(response.headers['content-length'])}, got ${length} bytes`, plainBytes: 0 };
    const same = this.verified.get(length)?.find((known) => known.gzip.equals(response.body));
    if (same) return { plainBytes: same.plainBytes };
    const text = gunzipSync(response.body).toString('utf8');
    const plainBytes = Buffer.byteLength(text);
    const problem = checkBody(text, this.expect);
    if (problem) return { problem, plainBytes, text };
    if (this.verified.size > 64) this.verified.clear();
    this.verified.set(length, [...(this.verified.get(length) ?? []), { gzip: response.body, plainBytes }]);
    return { plainBytes, text };
  }
}

async function work(options: ScrapeLoadOptions): Promise<ScrapeLoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.scrapers });
  const result: ScrapeLoadResult = {
    scrapes: 0,
    failures: [],
    failureCount: 0,
    latenciesMs: [],
    transferredBytes: 0,
    plainBytes: 0,
    decoded: 0,
    bodies: [],
  };
  const deadline = performance.now() + options.durationMs;
  const kept = new Set<number>();
  const checker = new ResponseChecker(options.expect);
  const fail = (problem: string) => {
    result.failureCount++;
    if (result.failures.length < 20) result.failures.push(problem);
  };
  const scraper = async (index: number) => {
    while (performance.now() < deadline) {
      const started = performance.now();
      try {
        const response = await get(`${options.url}/metrics`, agent);
        result.latenciesMs.push(performance.now() - started);
        result.scrapes++;
        result.transferredBytes += response.body.length;
        const { problem, plainBytes, text } = checker.check(response);
        result.plainBytes += plainBytes;
        if (text) result.decoded++;
        if (problem) fail(problem);
        else if (text && index < options.keepBodies && !kept.has(index)) {
          kept.add(index);
          result.bodies.push(text);
        }
      } catch (error) {
        fail(`request failed: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.scrapers }, (_, i) => scraper(i)));
  agent.destroy();
  return result;
}

const data = workerData as { scrapeLoad?: ScrapeLoadOptions } | undefined;
if (!isMainThread && data?.scrapeLoad) {
  const options = data.scrapeLoad;
  void work(options).then((result) => parentPort?.postMessage(result));
}
