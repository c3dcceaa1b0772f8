import { describe, expect, it } from 'vitest';
import type { GroundTruthJob, NotFoundShape } from '../../src/simulator/index.js';
import { getJson, jobId, recordPath, startSimulator } from '../helpers/simulator.js';

const NOT_FOUND: Array<[NotFoundShape, number, unknown]> = [
  ['404', 404, { error_code: 'CB.00060214' }],
  ['422-devcb', 422, { error_code: 'DEVCB.00031006' }],
  ['422-cb', 422, { error_code: 'CB.00031006' }],
  ['403-cb', 403, { error_code: 'CB.00031059' }],
  ['200-fail', 200, { status: 'fail', error: { code: 'CB.00031006' }, result: null }],
];

describe('simulator routes', () => {
  it.each(NOT_FOUND)('answers a missing build with shape %s', async (shape, status, body) => {
    const simulator = await startSimulator({ jobs: [{ id: jobId(1), name: 'a', history: 2, deletedBelow: 2, notFound: shape }] });
    for (const buildNo of [1, 3, 99]) {
      const answer = await getJson(simulator, recordPath(jobId(1), buildNo));
      expect(answer.status).toBe(status);
      expect(answer.body).toMatchObject(body as object);
    }
    expect((await getJson(simulator, recordPath(jobId(1), 2, 'v1'))).body.status).toBe('success');
  });

  it('answers an unknown job with DEVCB.00031006 and a bad build number with 400', async () => {
    const simulator = await startSimulator({ jobs: 1 });
    const unknown = await getJson(simulator, recordPath(jobId(999), 1));
    expect([unknown.status, unknown.body.error_code]).toEqual([422, 'DEVCB.00031006']);
    const bad = await getJson(simulator, recordPath(simulator.jobs()[0]?.id ?? '', 'abc'));
    expect([bad.status, bad.body.error_code]).toEqual([400, 'CB.00060200']);
  });

  it('reports the highest visible build in running-status', async () => {
    const simulator = await startSimulator({
      gapProbability: 0.2,
      jobs: [
        { id: jobId(1), name: 'busy', history: 5, buildEverySeconds: 60 },
        { id: jobId(2), name: 'never-built', buildEverySeconds: 0 },
      ],
    });
    for (let step = 0; step < 10; step++) {
      const [busy, idle] = simulator.groundTruth() as [GroundTruthJob, GroundTruthJob];
      const answer = await getJson(simulator, `/v1/job/${busy.id}/running-status`);
      expect(answer.body).toMatchObject({ status: 'success', error: null });
      expect(answer.body.result).toMatchObject({
        last_job_id: busy.id,
        last_build_no: String(busy.highest),
        is_running: busy.inProgress.length > 0,
      });
      expect((await getJson(simulator, `/v1/job/${idle.id}/running-status`)).body.result).toMatchObject({
        last_build_no: '',
        is_running: false,
      });
      simulator.advance(97);
    }
  });

  it('answers 404 APIGW.0101 for running-status when it is switched off, and for unknown routes', async () => {
    const simulator = await startSimulator({ jobs: [{ id: jobId(1), name: 'a' }], runningStatus: false });
    for (const path of [`/v1/job/${jobId(1)}/running-status`, '/v3/jobs/x/history', '/']) {
      const answer = await getJson(simulator, path);
      expect([answer.status, answer.body.error_code]).toEqual([404, 'APIGW.0101']);
    }
    expect(simulator.requests().byEndpoint).toEqual({ 'running-status': 1, other: 2 });
  });

  it('lists the jobs of a project, 0-based pages, bare as the SDK models it', async () => {
    const projectId = 'ab'.repeat(16);
    const simulator = await startSimulator({
      jobs: [
        { id: jobId(1), name: 'one', projectId },
        { id: jobId(2), name: 'two', projectId },
        { id: jobId(3), name: 'elsewhere' },
      ],
    });
    const all = await getJson(simulator, `/v1/job/${projectId}/list?page_index=0&page_size=100`);
    expect(Object.keys(all.body).sort()).toEqual(['jobs', 'total']);
    expect(all.body.total).toBe(2);
    expect(all.body.jobs.map((job: { id: string }) => job.id)).toEqual([jobId(1), jobId(2)]);
    expect(all.body.jobs[0]).toMatchObject({ job_name: 'one', last_build_status: 'none', is_finished: true });
    const second = await getJson(simulator, `/v1/job/${projectId}/list?page_index=1&page_size=1`);
    expect(second.body.jobs.map((job: { id: string }) => job.id)).toEqual([jobId(2)]);
    expect((await getJson(simulator, `/v1/job/${projectId}/list?page_size=101`)).status).toBe(400);
  });

  it('lists the jobs enveloped on request, with the global job list item fields', async () => {
    const projectId = 'ab'.repeat(16);
    const simulator = await startSimulator({ jobListShape: 'enveloped', jobs: [{ id: jobId(1), name: 'one', projectId, history: 2 }] });
    const all = await getJson(simulator, `/v1/job/${projectId}/list?page_index=0&page_size=100`);
    expect(all.body.status).toBe('success');
    expect(all.body.result.total).toBe(1);
    expect(all.body.result.job_list[0]).toMatchObject({ id: jobId(1), job_name: 'one', project_id: projectId, build_number: '2' });
  });

  it('answers running-status in each unavailable mode, switchable at run time', async () => {
    const simulator = await startSimulator({ jobs: [{ id: jobId(1), name: 'a', history: 3 }], runningStatus: 'forbidden' });
    const path = `/v1/job/${jobId(1)}/running-status`;
    expect((await getJson(simulator, path)).status).toBe(403);
    simulator.setRunningStatus('server-error');
    expect((await getJson(simulator, path)).status).toBe(500);
    simulator.setRunningStatus('malformed');
    const malformed = await getJson(simulator, path);
    expect([malformed.status, malformed.body]).toEqual([200, undefined]);
    simulator.setRunningStatus('route-not-found');
    expect((await getJson(simulator, path)).body.error_code).toBe('APIGW.0101');
    simulator.setRunningStatus('ok');
    expect((await getJson(simulator, path)).body.result.last_build_no).toBe('3');
  });

  it('bends single builds: hidden once, aborted in the queue, stuck in an unknown status', async () => {
    const simulator = await startSimulator({ jobs: [{ id: jobId(1), name: 'a', history: 5 }] });
    simulator.overrideBuild(jobId(1), 2, { kind: 'not-found', times: 1 });
    expect((await getJson(simulator, recordPath(jobId(1), 2))).body.error_code).toBe('CB.00031059');
    expect((await getJson(simulator, recordPath(jobId(1), 2))).body.result.build_no).toBe(2);
    simulator.overrideBuild(jobId(1), 3, { kind: 'aborted-in-queue', afterSeconds: 40 });
    const aborted = (await getJson(simulator, recordPath(jobId(1), 3))).body.result;
    expect(aborted).toMatchObject({ status: 'ABORTED', start_time: null, duration: 0 });
    expect(Date.parse(aborted.finish_time) - Date.parse(aborted.create_time)).toBe(40_000);
    simulator.overrideBuild(jobId(1), 4, { kind: 'unknown-status', status: 'SUSPENDED' });
    expect((await getJson(simulator, recordPath(jobId(1), 4))).body.result).toMatchObject({ status: 'SUSPENDED', finish_time: null });
    const truth = simulator.groundTruth()[0];
    expect(truth?.inProgress).toEqual([4]);
    expect(truth?.finished.find((b) => b.buildNo === 3)).toMatchObject({ result: 'aborted', queueSeconds: 40, neverStarted: true });
  });

  it('refuses a missing or wrong X-Auth-Token with 401 APIGW.0301', async () => {
    const simulator = await startSimulator({ jobs: [{ id: jobId(1), name: 'a', history: 1 }], token: 'right' });
    for (const headers of [{}, { 'X-Auth-Token': 'wrong' }] as Array<Record<string, string>>) {
      const answer = await getJson(simulator, recordPath(jobId(1), 1), headers);
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({ error_code: 'APIGW.0301', error_msg: 'Incorrect IAM authentication information' });
    }
    expect((await getJson(simulator, recordPath(jobId(1), 1), { 'X-Auth-Token': 'right' })).status).toBe(200);
  });

  it('issues the accepted token from the IAM route without a token', async () => {
    const simulator = await startSimulator({ jobs: 0, token: 'issued' });
    const identity = { methods: ['password'], password: { user: { name: 'u', password: 'p', domain: { name: 'd' } } } };
    const body = { auth: { identity, scope: { project: { name: 'sim-region-1' } } } };
    const response = await fetch(`${simulator.url}/v3/auth/tokens`, { method: 'POST', body: JSON.stringify(body) });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-subject-token')).toBe('issued');
    const { token } = (await response.json()) as { token: { expires_at: string } };
    expect(Date.parse(token.expires_at)).toBeGreaterThan(Date.now() + 23 * 3600 * 1000);
    const bad = await fetch(`${simulator.url}/v3/auth/tokens`, { method: 'POST', body: '{' });
    expect(bad.status).toBe(400);
    expect(simulator.requests().byEndpointStatus).toEqual({ 'iam-token': { '201': 1, '400': 1 } });
  });
});
