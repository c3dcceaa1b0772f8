import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import * as zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Exporter } from '../../src/exporter.js';
import { METRICS_MAX_AGE_MS } from '../../src/exporter.js';
import { PROMETHEUS_HEADERS } from '../../src/bench/scrapers.js';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { sleep } from '../helpers/chaos.js';
import { createTestExporter, testConfig } from '../helpers/exporter-harness.js';
import { parseExposition, select } from '../helpers/exposition.js';
import { parseOpenMetrics } from '../helpers/openmetrics.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A raw HTTP request: no client-side decoding, exactly the headers given. */
function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/metrics`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const zstdDecompressSync = (zlib as { zstdDecompressSync?: (body: Buffer) => Buffer }).zstdDecompressSync;

function decode(answer: Answer): string {
  switch (answer.headers['content-encoding']) {
    case undefined:
      return answer.body.toString('utf8');
    case 'gzip':
      return gunzipSync(answer.body).toString('utf8');
    case 'br':
      return brotliDecompressSync(answer.body).toString('utf8');
    case 'zstd':
      if (!zstdDecompressSync) throw new Error('zstd answer on a Node without zstd');
      return zstdDecompressSync(answer.body).toString('utf8');
    default:
      throw new Error(`unexpected content-encoding ${String(answer.headers['content-encoding'])}`);
  }
}

/**
 * The text without the series a cached body may show older values of (api_* of the exporter,
 * process and Node.js metrics; see SelfMetrics), for comparison with a fresh render.
 */
function tracked(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^(# (HELP|TYPE|UNIT) )?(process_|nodejs_|codearts_exporter_api_)/.test(line))
    .join('\n');
}

/** /metrics over HTTP: content codings as the client asks, and the body cache. */
describe('/metrics over HTTP', () => {
  let simulator: Simulator;
  let exporter: Exporter;
  let url: string;

  beforeAll(async () => {
    simulator = await createSimulator({ seed: 13, jobs: 40, buildEverySeconds: 120 });
    simulator.advance(3600);
    // A schedule that does not fire during the test: cycles run when the test says.
    ({ exporter } = await createTestExporter(
      testConfig(simulator, { poll: { schedule: '0 0 1 1 *', start_at: 'latest' }, log: { level: 'warn' } }),
    ));
    ({ url } = await exporter.start());
    for (let i = 0; i < 100 && (await fetch(`${url}/readyz`)).status !== 200; i++) await sleep(50);
    simulator.advance(600);
    await exporter.runCycle();
  });

  afterAll(async () => {
    await exporter?.stop();
    await simulator?.close();
  });

  it("answers Prometheus' own headers with gzip of OpenMetrics 1.0.0, Content-Length and Vary", async () => {
    const answer = await get(url, PROMETHEUS_HEADERS);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(answer.headers['content-encoding']).toBe('gzip');
    expect(answer.headers.vary).toBe('Accept, Accept-Encoding');
    expect(Number(answer.headers['content-length'])).toBe(answer.body.length);
    const text = decode(answer);
    expect(() => parseOpenMetrics(text)).not.toThrow();
    expect(text).toMatch(/_bucket\{[^\n]*\} \d+ # \{build_no="\d+",build_record_id="[^"]+"\} [\d.e+]+ [\d.]+\n/);
    expect(tracked(text)).toBe(tracked(await exporter.renderMetrics('openmetrics')));
    expect(answer.body.length).toBeLessThan(Buffer.byteLength(text) / 5);
  });

  it('answers a text-format Accept with the text format 0.0.4, and keeps one cached render per format', async () => {
    const textAccept = { accept: 'text/plain;version=0.0.4', 'accept-encoding': 'gzip' };
    await sleep(METRICS_MAX_AGE_MS);
    const before = exporter.scrapes.renderCount;
    const text = await get(url, textAccept);
    const om = await get(url, PROMETHEUS_HEADERS);
    // Alternating formats reuse each format's render.
    const [textAgain, omAgain] = await Promise.all([get(url, textAccept), get(url, PROMETHEUS_HEADERS)]);
    expect(exporter.scrapes.renderCount - before).toBe(2);
    expect(textAgain.body.equals(text.body)).toBe(true);
    expect(omAgain.body.equals(om.body)).toBe(true);
    expect(text.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(text.headers.vary).toBe('Accept, Accept-Encoding');
    const plain = decode(text);
    expect(plain).not.toContain('# EOF');
    expect(plain).not.toContain(' # {');
    expect(tracked(plain)).toBe(tracked(await exporter.renderMetrics()));
  });

  // Accept-Encoding as sent → the coding answered (RFC 9110 §12.5.3); undefined: 406.
  const zstd = zstdDecompressSync ? 'zstd' : 'identity';
  const cases: Array<[string | undefined, string | undefined]> = [
    [undefined, 'identity'],
    ['', 'identity'],
    ['gzip', 'gzip'],
    ['GZIP', 'gzip'],
    ['x-gzip', 'gzip'],
    ['gzip, deflate, br', 'gzip'],
    ['gzip, deflate, br, zstd', 'gzip'],
    ['br', 'br'],
    ['br;q=1.0, gzip;q=0.8', 'br'],
    ['gzip;q=0.5, br;q=0.9, *;q=0.1', 'br'],
    ['zstd', zstd],
    ['deflate', 'identity'],
    ['gzip;q=0', 'identity'],
    ['identity', 'identity'],
    ['identity;q=0.5, gzip;q=0.4', 'identity'],
    ['*', 'gzip'],
    ['*;q=0.3, gzip;q=0', zstdDecompressSync ? 'zstd' : 'br'],
    ['identity;q=0', undefined],
    ['*;q=0', undefined],
    ['deflate, identity;q=0', undefined],
  ];
  it.each(cases)('Accept-Encoding %j gets %s', async (acceptEncoding, coding) => {
    const headers: Record<string, string> = acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding };
    const answer = await get(url, headers);
    expect(answer.headers.vary).toBe('Accept, Accept-Encoding');
    if (coding === undefined) {
      expect(answer.status).toBe(406);
      return;
    }
    expect(answer.status).toBe(200);
    expect(answer.headers['content-encoding']).toBe(coding === 'identity' ? undefined : coding);
    expect(Number(answer.headers['content-length'])).toBe(answer.body.length);
    expect(tracked(decode(answer))).toBe(tracked(await exporter.renderMetrics()));
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    for (const headers of [{}, { 'accept-encoding': 'gzip' }, { 'accept-encoding': 'br' }] as Array<Record<string, string>>) {
      const got = await get(url, headers);
      const head = await get(url, headers, 'HEAD');
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
      for (const name of ['content-type', 'content-encoding', 'content-length', 'vary'])
        expect(head.headers[name], name).toEqual(got.headers[name]);
    }
  });

  it('renders once for many concurrent scrapers, and again as soon as a cycle changed the metrics', async () => {
    const gzip = { 'accept-encoding': 'gzip' };
    await sleep(METRICS_MAX_AGE_MS);
    const before = exporter.scrapes.renderCount;
    const answers = await Promise.all(Array.from({ length: 30 }, () => get(url, gzip)));
    expect(exporter.scrapes.renderCount - before).toBe(1);
    expect(new Set(answers.map((a) => a.body.toString('base64'))).size).toBe(1);

    const counted = (text: string) => select(parseExposition(text), 'codearts_builds_total').reduce((sum, s) => sum + s.value, 0);
    const countedBefore = counted(decode(answers[0]!));
    simulator.advance(1800);
    const summary = await exporter.runCycle();
    expect(summary.buildsCounted).toBeGreaterThan(0);
    // The very next scrape shows the cycle's builds: a commit makes the cached body stale.
    const after = decode(await get(url, gzip));
    expect(counted(after)).toBe(countedBefore + summary.buildsCounted);
    expect(tracked(after)).toBe(tracked(await exporter.renderMetrics()));
  });

  it('re-renders after a change of a tracked self-metric, and serves the cached body through changes of untracked ones until its maximum age', async () => {
    const gzip = { 'accept-encoding': 'gzip' };
    const first = await get(url, gzip);
    const renders = exporter.scrapes.renderCount;
    // api_requests_total changes with every request to CodeArts: not tracked, the body is reused.
    for (let i = 0; i < 5; i++) await exporter.client.getRecord(simulator.jobs()[0]!.id, 1);
    const cached = await get(url, gzip);
    expect(exporter.scrapes.renderCount).toBe(renders);
    expect(cached.body.equals(first.body)).toBe(true);
    // Past the maximum age it shows, like the process metrics.
    await sleep(METRICS_MAX_AGE_MS + 50);
    const aged = decode(await get(url, gzip));
    expect(exporter.scrapes.renderCount).toBe(renders + 1);
    expect(aged).not.toBe(decode(first));
    // A cycle that found nothing new commits nothing, but polls_total is tracked: the next scrape shows it at once.
    const polls = (text: string) => select(parseExposition(text), 'codearts_exporter_polls_total', { outcome: 'success' })[0]?.value;
    const pollsBefore = polls(aged);
    expect((await exporter.runCycle()).buildsCounted).toBe(0);
    expect(polls(decode(await get(url, gzip)))).toBe((pollsBefore ?? 0) + 1);
    expect(exporter.scrapes.renderCount).toBe(renders + 2);
  });
});
