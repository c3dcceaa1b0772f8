import { afterEach, describe, expect, it } from 'vitest';
import { createIamAuth } from '../../src/codearts/auth/iam.js';
import type { IamTokenEvent } from '../../src/codearts/events.js';
import { CodeArtsClient } from '../../src/codearts/client.js';
import { DEFAULT_NOT_FOUND_CODES } from '../../src/codearts/envelope.js';
import { isCodeArtsError } from '../../src/codearts/errors.js';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { valueOf } from '../helpers/exposition.js';
import { createTestExporter, scrape, testConfig } from '../helpers/exporter-harness.js';
import { withWallTime } from '../../src/support/clock.js';

const PASSWORD = 'SENTINEL-PASSWORD-SCOPE-31';
const JOB = 'a7000000000000000000000000000001';
// IAM issues tokens for any project; CodeArts (the simulator) serves cn-north-4 only.
const IAM_USER = { domain: 'acme', user: 'codearts-exporter', password: PASSWORD };
const WRONG_PROJECT = 'cn-south-1';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startSimulator(): Promise<Simulator> {
  const simulator = await createSimulator({
    seed: 41,
    jobs: [{ id: JOB, name: 'scoped', history: 3, buildEverySeconds: 0 }],
    auth: { mode: 'iam', tokenLifetimeSeconds: 3600, users: [IAM_USER], codeartsProject: 'cn-north-4' },
  });
  cleanups.push(() => simulator.close());
  return simulator;
}

const iamRequests = (simulator: Simulator): number => simulator.requests().byEndpoint['iam-token'] ?? 0;

describe('CodeArts answers 401 to every freshly issued token (wrong project scope): no IAM login storm', () => {
  it('100 calls cost one login; after a minute one more; each failure names the likely cause; rejections counted', async () => {
    const simulator = await startSimulator();
    let offsetMs = 0;
    const events: IamTokenEvent[] = [];
    const auth = createIamAuth({
      endpoint: simulator.url,
      ...IAM_USER,
      project: WRONG_PROJECT,
      clock: withWallTime(() => Date.now() + offsetMs),
      events: { emit: (event) => (event.type === 'iam_token' ? events.push(event) : undefined) },
    });
    const client = new CodeArtsClient({
      endpoint: simulator.url,
      recordApi: 'v4',
      auth,
      requestTimeoutMs: 5000,
      maxConcurrency: 8,
      maxRequestsPerSecond: 100_000,
      retry: { retries: 3, minDelayMs: 10, maxDelayMs: 10 },
      maxRetryTimeMs: 5000,
      notFoundCodes: DEFAULT_NOT_FOUND_CODES,
    });
    const hundredCalls = () =>
      Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          client.getRecord(JOB, (i % 3) + 1).then(
            () => undefined,
            (error: unknown) => error,
          ),
        ),
      );

    const first = await hundredCalls();
    expect(iamRequests(simulator)).toBe(1);
    for (const error of first) {
      expect(isCodeArtsError(error) && error.kind).toBe('unauthorized');
      expect((error as Error).message).toContain('APIGW.0301');
      expect((error as Error).message).toContain('check that the token scope (codearts.auth.iam.project / project_id)');
    }
    // Not retried: one request per call.
    expect(simulator.requests().recordInfo).toBe(100);

    // A minute later (our clock), one new token may be tried; it is refused too, and that is all.
    offsetMs += 61_000;
    await hundredCalls();
    expect(iamRequests(simulator)).toBe(2);
    // The calls that saw the old token refused while the new one was on its way replay once with it.
    const replayed = simulator.requests().recordInfo - 200;
    expect(replayed).toBeGreaterThanOrEqual(1);
    expect(replayed).toBeLessThanOrEqual(8);
    offsetMs += 30_000;
    await hundredCalls();
    expect(iamRequests(simulator)).toBe(2);
    expect(simulator.requests().recordInfo).toBe(300 + replayed);

    // Every call ends in one refused 401; those that replayed were refused without asking again.
    const outcomes = events.map((event) => event.outcome);
    expect(outcomes.filter((outcome) => outcome === 'success').length).toBe(2);
    expect(outcomes.filter((outcome) => outcome === 'rejected').length).toBe(300 - replayed);
    console.info(`401 to every token: 300 calls, ${iamRequests(simulator)} IAM logins over 91 s of our clock`);
  });

  it('through the exporter: the cycle fails with the hint, auth_refreshes_total{outcome="rejected"} counts, one login', async () => {
    const simulator = await startSimulator();
    const iam = { endpoint: simulator.url, domain: IAM_USER.domain, user: IAM_USER.user, password: PASSWORD, project: WRONG_PROJECT };
    const { exporter, logs } = await createTestExporter(testConfig(simulator, { codearts: { auth: { token: undefined, iam } } }));
    cleanups.push(() => exporter.stop());
    for (let i = 0; i < 3; i++) expect((await exporter.runCycle()).outcome).toBe('failure');
    expect(iamRequests(simulator)).toBe(1);
    const samples = await scrape(exporter);
    expect(valueOf(samples, 'codearts_exporter_auth_refreshes_total', { outcome: 'success' })).toBe(1);
    expect(valueOf(samples, 'codearts_exporter_auth_refreshes_total', { outcome: 'rejected' })).toBe(3);
    expect(valueOf(samples, 'codearts_exporter_up')).toBe(0);
    const failure = logs.lines.find((line) => line.msg.startsWith('polling job failed'));
    expect(JSON.stringify(failure?.err)).toContain(`project 'cn-south-1'`);
    expect(logs.raw).not.toContain(PASSWORD);
  });

  it('a fresh exporter shows the rejected outcome at zero', async () => {
    const simulator = await startSimulator();
    const { exporter } = await createTestExporter(testConfig(simulator));
    cleanups.push(() => exporter.stop());
    expect(valueOf(await scrape(exporter), 'codearts_exporter_auth_refreshes_total', { outcome: 'rejected' })).toBe(0);
  });
});
