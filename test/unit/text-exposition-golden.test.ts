/**
 * The Prometheus text format (0.0.4) stays byte for byte what it was before OpenMetrics and
 * exemplars were added: a representative store (test/helpers/golden-store.ts) rendered in both
 * layouts, and the per-job self-metric families, compared with files rendered by the code as it was
 * before that change (test/fixtures/golden/). Also served over HTTP: without Accept, with a text-only
 * Accept, and gzip-compressed, the body is the same bytes.
 *
 * The files are never regenerated to make this test pass: a difference is a change of the text
 * format. (GOLDEN_WRITE=1 rewrites them; only for a deliberate, announced change of the format.)
 */

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExpositionPart } from '../../src/metrics/exposition-part.js';
import { SelfMetrics } from '../../src/metrics/self-metrics.js';
import { createServerApp } from '../../src/server/app.js';
import { ScrapeCache } from '../../src/server/scrape-cache.js';
import { partsText } from '../helpers/exposition.js';
import { GOLDEN_EPOCH, GOLDEN_OPTIONS, goldenBuildMetrics, goldenJobs } from '../helpers/golden-store.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'golden');

function golden(name: string, text: string): string {
  const file = join(DIR, name);
  if (process.env.GOLDEN_WRITE === '1' || !existsSync(file)) {
    if (process.env.GOLDEN_WRITE !== '1') throw new Error(`${file} is missing (GOLDEN_WRITE=1 writes it)`);
    mkdirSync(DIR, { recursive: true });
    writeFileSync(file, text);
  }
  return readFileSync(file, 'utf8');
}

/** The per-job self-metric families (hand-rendered like the build metrics), with every job of the store. */
function selfFamilies(): ExpositionPart[] {
  const self = new SelfMetrics('golden');
  goldenJobs().forEach(({ job }, i) => {
    self.addJob(job.id, job.name);
    self.lastSuccessfulPoll.set({ job_id: job.id, job_name: job.name }, GOLDEN_EPOCH + i * 30.5);
    if (i % 2 === 0) self.invalidRecords.inc({ job_id: job.id, job_name: job.name }, i + 1);
  });
  self.vanishedBuilds.inc({ job_id: goldenJobs()[0]?.job.id ?? '', job_name: goldenJobs()[0]?.job.name ?? '' }, 2);
  return [...self.lastSuccessfulPoll.parts(), ...self.invalidRecords.parts(), ...self.vanishedBuilds.parts()];
}

describe('the text format is byte-identical to the golden files', () => {
  it('build metrics, per-job histograms with recovery (the defaults)', () => {
    const text = partsText(goldenBuildMetrics(GOLDEN_OPTIONS['per-job']).parts());
    expect(text).toBe(golden('text-per-job.txt', text));
  });

  it('build metrics, fleet-wide histograms with a record label and fractional buckets', () => {
    const text = partsText(goldenBuildMetrics(GOLDEN_OPTIONS.fleet).parts());
    expect(text).toBe(golden('text-fleet.txt', text));
  });

  it('per-job self-metric families', () => {
    const text = partsText(selfFamilies());
    expect(text).toBe(golden('text-self-families.txt', text));
  });

  describe('served over HTTP', () => {
    let server: Server | undefined;
    let url = '';
    let expected = '';

    beforeAll(async () => {
      const metrics = goldenBuildMetrics(GOLDEN_OPTIONS['per-job']);
      const families = selfFamilies();
      expected = readFileSync(join(DIR, 'text-per-job.txt'), 'utf8') + readFileSync(join(DIR, 'text-self-families.txt'), 'utf8');
      const cache = new ScrapeCache(
        { version: () => metrics.version, parts: () => Promise.resolve([...metrics.parts(), ...families]) },
        { maxAgeMs: 60_000 },
      );
      server = createServer(createServerApp({ metrics: cache, isReady: () => ({ ready: true }), landing: () => ({}) as never }));
      await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    });

    afterAll(async () => {
      await new Promise((resolve) => server?.close(resolve));
    });

    for (const accept of [undefined, 'text/plain;version=0.0.4', 'text/plain', '*/*']) {
      it(`Accept: ${accept ?? '(none)'}`, async () => {
        const headers: Record<string, string> = { 'accept-encoding': 'identity' };
        if (accept) headers.accept = accept;
        const response = await fetch(url, { headers });
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
        expect(await response.text()).toBe(expected);
      });
    }

    it('gzip decodes to the same bytes', async () => {
      // node:http rather than fetch, which would decode the body itself.
      const body = await new Promise<Buffer>((resolve, reject) => {
        import('node:http')
          .then(({ get }) =>
            get(url, { headers: { 'accept-encoding': 'gzip', accept: 'text/plain;version=0.0.4' } }, (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (chunk: Buffer) => chunks.push(chunk));
              res.on('end', () => resolve(Buffer.concat(chunks)));
              res.on('error', reject);
            }).on('error', reject),
          )
          .catch(reject);
      });
      expect(gunzipSync(body).toString('utf8')).toBe(expected);
    });
  });
});
