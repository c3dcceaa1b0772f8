import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator, type JobListShape, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';
import { valueOf } from '../helpers/exposition.js';
import { createTestExporter, scrape, testConfig } from '../helpers/exporter-harness.js';
import { checkAgainstModel, loadSdkModels, operationFor, type SdkModels } from '../helpers/sdk-models.js';
import { AUTH, jobId, recordPath } from '../helpers/simulator.js';
import { formatListingTime } from '../../src/codearts/build-listing.js';

const MODELS = loadSdkModels();
const PROJECT = 'c0ffee00000000000000000000000001';
const IAM_USER = { domain: 'sim-domain', user: 'sim-user', password: 'sim-password-NOT-A-SECRET', project: 'sim-region-1' };

interface Answer {
  method: string;
  path: string;
  status: number;
  headers: Headers;
  text: string;
}

/**
 * Every answer a CodeArts endpoint gives, checked against the official SDK's models
 * (test/fixtures/codearts-sdk-models.json): field names and JSON types, nested models, arrays and
 * maps; an extra field is a failure. Error answers must be the documented `{error_code, error_msg}`
 * body; IAM's token answer (not in the SDK's models) must be the Keystone shape of the API notes §4.2.
 */
function contractProblems(answer: Answer, models: SdkModels = MODELS): string[] {
  const where = `${answer.method} ${answer.path} -> ${answer.status}`;
  const body = parse(answer.text);
  if (body === undefined) return [`${where}: body is not JSON`];
  if (answer.method === 'POST' && answer.path.startsWith('/v3/auth/tokens')) return iamProblems(answer, body).map((p) => `${where}: ${p}`);
  const operation = operationFor(models, answer.method, answer.path);
  if (!operation) return [`${where}: no SDK operation has this path`];
  if (answer.status >= 300) return errorBodyProblems(body).map((p) => `${where}: ${p}`);
  // The enveloped job list variant is the global job list's model (ListJob), as the API notes saw it live.
  const enveloped = operation.operation === 'ListProjectJobs' && typeof body === 'object' && body !== null && 'result' in body;
  const model = enveloped ? 'ListJobResponse' : operation.response;
  return checkAgainstModel(models, model, body).map((p) => `${where} (${model}): ${p}`);
}

function errorBodyProblems(body: unknown): string[] {
  if (typeof body !== 'object' || body === null) return ['error body is not an object'];
  const keys = Object.keys(body).sort();
  const values = body as Record<string, unknown>;
  if (keys.join() !== 'error_code,error_msg') return [`error body has keys ${keys.join()}, expected error_code,error_msg`];
  return typeof values.error_code === 'string' && typeof values.error_msg === 'string' ? [] : ['error_code and error_msg must be strings'];
}

const IAM_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3,6}Z$/;

function iamProblems(answer: Answer, body: unknown): string[] {
  const problems: string[] = [];
  if (answer.status !== 201) problems.push(`expected 201, got ${answer.status}`);
  if (!answer.headers.get('x-subject-token')) problems.push('no X-Subject-Token header');
  const token = (body as { token?: Record<string, unknown> }).token;
  if (typeof token !== 'object' || token === null) return [...problems, 'no token object'];
  for (const field of ['expires_at', 'issued_at']) {
    const value = token[field];
    if (typeof value !== 'string' || !IAM_TIME.test(value)) problems.push(`token.${field} is not an IAM time: ${JSON.stringify(value)}`);
  }
  return problems;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A pass-through HTTP proxy in front of the simulator that keeps every answer it relays. */
/** Headers that belong to one connection, not to the request (fetch refuses to send some of them). */
const HOP_BY_HOP = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);

async function recordingProxy(target: string): Promise<{ url: string; answers: Answer[]; close: () => Promise<void> }> {
  const answers: Answer[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter((e): e is [string, string] => typeof e[1] === 'string' && !HOP_BY_HOP.has(e[0])),
      );
      const init: RequestInit = { method: req.method ?? 'GET', headers, redirect: 'manual' };
      if (chunks.length > 0) init.body = Buffer.concat(chunks);
      fetch(`${target}${req.url ?? '/'}`, init)
        .then(async (response) => {
          const text = await response.text();
          answers.push({ method: req.method ?? 'GET', path: req.url ?? '/', status: response.status, headers: response.headers, text });
          const relayed: Record<string, string> = { 'content-type': response.headers.get('content-type') ?? 'application/json' };
          const subject = response.headers.get('x-subject-token');
          if (subject) relayed['x-subject-token'] = subject;
          res.writeHead(response.status, relayed).end(text);
        })
        .catch(() => res.writeHead(502).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    answers,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const DAY_MS = 86_400_000;

/** A page of the job's builds that started within the last `spanMs` (ListBuildInfoRecordByJobId). */
function listingPath(simulator: Simulator, job: string, spanMs: number, page: number, size = 5): string {
  const nowMs = simulator.now() * 1000;
  const query = new URLSearchParams({
    start_time: formatListingTime(nowMs - spanMs),
    end_time: formatListingTime(nowMs),
    page_index: String(page),
    page_size: String(size),
  });
  return `/v1/record/${job}/list?${query.toString()}`;
}

async function fetchAnswer(simulator: Simulator, path: string): Promise<Answer> {
  const response = await fetch(`${simulator.url}${path}`, { headers: AUTH });
  return { method: 'GET', path, status: response.status, headers: response.headers, text: await response.text() };
}

describe('the simulator answers in the official SDK shapes', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function simulate(options: SimulatorOptions): Promise<Simulator> {
    const simulator = await createSimulator(options);
    cleanups.push(() => simulator.close());
    return simulator;
  }

  it('the checker itself rejects an extra field, a wrong type, a wrong nested type and a non-array', () => {
    const good = { status: 'success', error: null, result: { build_no: 5, status: 'SUCCESS', duration: 1 } };
    expect(checkAgainstModel(MODELS, 'ShowRecordDetailResponse', good)).toEqual([]);
    expect(checkAgainstModel(MODELS, 'ShowRecordDetailResponse', { ...good, extra: 1 })).toEqual([
      '$.extra: not a field of ShowRecordDetailResponse',
    ]);
    expect(checkAgainstModel(MODELS, 'ShowRecordDetailResponse', { ...good, result: { build_no: '5' } })).toEqual([
      '$.result.build_no: expected number, got string "5"',
    ]);
    expect(checkAgainstModel(MODELS, 'ShowRunningStatusResponse', { result: { last_build_no: 7 } })).toEqual([
      '$.result.last_build_no: expected string, got number 7',
    ]);
    expect(checkAgainstModel(MODELS, 'ListProjectJobsResponse', { total: 1, jobs: { id: 'x' } })).toEqual([
      '$.jobs: expected an array (Array<Job>), got object {"id":"x"}',
    ]);
    expect(checkAgainstModel(MODELS, 'ListProjectJobsResponse', { total: 1, jobs: [{ id: 'x', project_id: 'p' }] })).toEqual([
      '$.jobs[0].project_id: not a field of Job',
    ]);
    expect(checkAgainstModel(MODELS, 'ShowHistoryDetailsResponse', { parameters: { a: 'x', b: 2 } })).toEqual([
      '$.parameters.b: expected string, got number 2',
    ]);
    expect(operationFor(MODELS, 'GET', `/v1/record/${jobId(1)}/list?page_index=0`)?.response).toBe('ListBuildInfoRecordByJobIdResponse');
    expect(
      checkAgainstModel(MODELS, 'ListBuildInfoRecordByJobIdResponse', {
        result: { total_record: 3, job_build_states: [{ number: '7', commit_info: { commit_id: 1 } }] },
      }),
    ).toEqual([
      '$.result.total_record: expected string, got number 3',
      '$.result.job_build_states[0].number: expected number, got string "7"',
      '$.result.job_build_states[0].commit_info.commit_id: expected string, got number 1',
    ]);
  });

  it('record-info v4 and v1, running-status, both job list shapes and the build listing: every phase, status, trigger and override', async () => {
    const answers: Answer[] = [];
    for (const jobListShape of ['sdk', 'enveloped'] as JobListShape[]) {
      const simulator = await simulate({
        seed: 77,
        gapProbability: 0.1,
        jobListShape,
        jobs: [
          { id: jobId(1), name: 'busy', projectId: PROJECT, history: 40, deletedBelow: 5, buildEverySeconds: 60 },
          { id: jobId(2), name: 'never-built', projectId: PROJECT, buildEverySeconds: 0 },
          { id: jobId(3), name: 'slow', projectId: PROJECT, history: 3, buildEverySeconds: 900, notFound: '200-fail' },
        ],
      });
      simulator.overrideBuild(jobId(1), 30, { kind: 'aborted-in-queue', afterSeconds: 20 });
      simulator.overrideBuild(jobId(1), 31, { kind: 'unknown-status', status: 'SUSPENDED' });
      for (let step = 0; step < 12; step++) {
        for (const job of simulator.groundTruth()) {
          for (let buildNo = Math.max(1, job.highest - 6); buildNo <= job.highest + 2; buildNo++) {
            answers.push(await fetchAnswer(simulator, recordPath(job.id, buildNo, 'v4')));
            answers.push(await fetchAnswer(simulator, recordPath(job.id, buildNo, 'v1')));
          }
          answers.push(await fetchAnswer(simulator, `/v1/job/${job.id}/running-status`));
          for (const page of [0, 1]) answers.push(await fetchAnswer(simulator, listingPath(simulator, job.id, 2 * DAY_MS, page)));
        }
        answers.push(await fetchAnswer(simulator, `/v1/job/${PROJECT}/list?page_index=0&page_size=2`));
        answers.push(await fetchAnswer(simulator, `/v1/job/${PROJECT}/list?page_index=1&page_size=2`));
        answers.push(await fetchAnswer(simulator, '/v1/job/list?page_index=0&page_size=2'));
        answers.push(await fetchAnswer(simulator, '/v1/job/list?page_index=1&page_size=100'));
        simulator.advance(45);
      }
      for (let buildNo = 1; buildNo <= 45; buildNo++) answers.push(await fetchAnswer(simulator, recordPath(jobId(1), buildNo)));
      answers.push(await fetchAnswer(simulator, listingPath(simulator, jobId(1), 2 * DAY_MS, 0, 100)));
      // The listing's refusals: an unknown job, a window over 30 days.
      answers.push(await fetchAnswer(simulator, listingPath(simulator, jobId(9), DAY_MS, 0)));
      answers.push(await fetchAnswer(simulator, listingPath(simulator, jobId(1), 31 * DAY_MS, 0)));
    }
    const listed = answers.filter((a) => a.path.includes('/list?start_time=') && a.status === 200).map((a) => a.text);
    // The listings showed running and finished builds, one aborted in the queue, and builds without a trigger.
    expect(listed.some((text) => text.includes('"job_running_status":"Running"'))).toBe(true);
    expect(listed.some((text) => text.includes('"state":"ABORTED"'))).toBe(true);
    expect(listed.some((text) => text.includes('"trigger_type":null'))).toBe(true);
    expect(answers.filter((a) => a.path.includes('/list?start_time=') && a.status >= 400).map((a) => a.status)).toEqual([
      422, 400, 422, 400,
    ]);
    const statuses = new Set(
      answers
        .filter((a) => a.path.includes('record-info') && a.status === 200)
        .map((a) => (parse(a.text) as { result?: { status?: string } }).result?.status),
    );
    // The sweep saw queued, running and finished records, and both overrides.
    expect([...statuses]).toEqual(expect.arrayContaining(['SUCCESS', 'ABORTED', 'SUSPENDED']));
    expect(answers.some((a) => a.status === 200 && a.text.includes('"start_time":null'))).toBe(true);
    expect(answers.some((a) => a.status === 200 && a.text.includes('"finish_time":null') && a.text.includes('"start_time":"'))).toBe(true);
    expect(answers.some((a) => a.status === 422)).toBe(true);
    expect(answers.flatMap((answer) => contractProblems(answer))).toEqual([]);
  }, 60_000);

  it('every answer an exporter receives over IAM auth, discovery in both shapes, v4 and v1, start_at latest', async () => {
    for (const [jobListShape, recordApi] of [
      ['sdk', 'v4'],
      ['enveloped', 'v1'],
    ] as const) {
      const simulator = await simulate({
        seed: 78,
        gapProbability: 0.05,
        jobListShape,
        auth: { mode: 'iam', tokenLifetimeSeconds: 3600, users: [IAM_USER] },
        jobs: [
          { id: jobId(11), name: 'api', projectId: PROJECT, history: 30, deletedBelow: 3, buildEverySeconds: 120 },
          { id: jobId(12), name: 'web', projectId: PROJECT, history: 12, buildEverySeconds: 300 },
        ],
      });
      const proxy = await recordingProxy(simulator.url);
      cleanups.push(proxy.close);
      const config = testConfig(simulator, {
        codearts: {
          endpoint: proxy.url,
          record_api: recordApi,
          auth: {
            token: undefined,
            iam: {
              endpoint: proxy.url,
              domain: IAM_USER.domain,
              user: IAM_USER.user,
              password: IAM_USER.password,
              project: IAM_USER.project,
            },
          },
        },
        poll: { start_at: 'latest', change_feed: 'auto' },
        jobs: [],
        projects: [{ id: PROJECT }],
        log: { level: 'warn' },
      });
      const { exporter } = await createTestExporter(config);
      cleanups.push(() => exporter.stop());
      for (let cycle = 0; cycle < 30; cycle++) {
        simulator.advance(60);
        await exporter.runCycle();
      }
      const samples = await scrape(exporter);
      expect(valueOf(samples, 'codearts_exporter_discovered_jobs', { project_id: PROJECT })).toBe(2);
      const endpoints = new Set(proxy.answers.map((a) => operationFor(MODELS, a.method, a.path)?.operation ?? a.path.split('?')[0]));
      expect([...endpoints].sort()).toEqual(
        [
          '/v3/auth/tokens',
          'ListProjectJobs',
          // The change feed (poll.change_feed: auto by default).
          'ListJob',
          recordApi === 'v4' ? 'ShowRecordDetail' : 'ShowJobBuildRecordDetail',
          'ShowRunningStatus',
        ].sort(),
      );
      expect(proxy.answers.flatMap((answer) => contractProblems(answer))).toEqual([]);
    }
  }, 60_000);
});
