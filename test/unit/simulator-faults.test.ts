import { describe, expect, it } from 'vitest';
import type { FaultKind, Simulator } from '../../src/simulator/index.js';
import { AUTH, getJson, jobId, recordPath, startSimulator } from '../helpers/simulator.js';

const JOB = jobId(1);

async function startWithBuilds(): Promise<Simulator> {
  return startSimulator({ jobs: [{ id: JOB, name: 'faulty', history: 5, buildEverySeconds: 0 }] });
}

function fetchRecord(simulator: Simulator, buildNo = 1, signal?: AbortSignal): Promise<Response> {
  return fetch(`${simulator.url}${recordPath(JOB, buildNo)}`, signal ? { headers: AUTH, signal } : { headers: AUTH });
}

/** What each HTTP-level fault must look like to a client. */
const ANSWERS: Array<[FaultKind, number, (response: Response, text: string) => void]> = [
  ['500', 500, (_r, text) => expect(JSON.parse(text).error_code).toBe('CB.00060101')],
  [
    '429',
    429,
    (r, text) => {
      expect(r.headers.get('retry-after')).toBe('1');
      expect(JSON.parse(text).error_code).toBe('APIG.0308');
    },
  ],
  [
    'apig-0308',
    429,
    (r, text) => {
      expect(r.headers.get('retry-after')).toBeNull();
      expect(JSON.parse(text)).toEqual({
        error_code: 'APIG.0308',
        error_msg: 'The throttling threshold has been reached: policy user over ratelimit, limit:10, time:1 second',
      });
    },
  ],
  ['cb-00060211', 500, (_r, text) => expect(JSON.parse(text).error_code).toBe('CB.00060211')],
  ['cb-00060100', 500, (_r, text) => expect(JSON.parse(text).error_code).toBe('CB.00060100')],
  [
    'malformed',
    200,
    (_r, text) => {
      expect(text).toBe('{"status":"success","result":{');
      expect(() => JSON.parse(text)).toThrow();
    },
  ],
  [
    'schema',
    200,
    (_r, text) => {
      const body = JSON.parse(text);
      expect(body.status).toBe('success');
      expect(body.result.status).toBeUndefined();
      expect(body.result.build_no).toBe('abc');
      expect(body.result.codeci_job_id).toBe(JOB);
    },
  ],
  [
    'string-json',
    500,
    (_r, text) => {
      const outer: unknown = JSON.parse(text);
      expect(typeof outer).toBe('string');
      expect(JSON.parse(outer as string)).toEqual({ error_code: 'CB.00060101', error_msg: 'x' });
    },
  ],
];

describe('simulator faults', () => {
  it.each(ANSWERS)('%s answers %i once, then the API is normal again', async (kind, status, check) => {
    const simulator = await startWithBuilds();
    const before = simulator.groundTruth();
    simulator.inject(kind);
    const response = await fetchRecord(simulator);
    expect(response.status).toBe(status);
    check(response, await response.text());
    expect((await fetchRecord(simulator)).status).toBe(200);
    expect(simulator.groundTruth()).toEqual(before);
    expect(simulator.requests().byEndpointStatus['record-info-v4']).toEqual(
      status === 200 ? { '200': 2 } : { [String(status)]: 1, '200': 1 },
    );
  });

  it('truncated promises the whole body and cuts it in half', async () => {
    const simulator = await startWithBuilds();
    simulator.inject('truncated');
    const response = await fetchRecord(simulator);
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow();
    expect((await fetchRecord(simulator)).status).toBe(200);
  });

  it('reset destroys the connection and is logged with status 0', async () => {
    const simulator = await startWithBuilds();
    simulator.inject('reset');
    await expect(fetchRecord(simulator)).rejects.toThrow();
    expect((await fetchRecord(simulator)).status).toBe(200);
    expect(simulator.requests().log.map((entry) => entry.status)).toEqual([0, 200]);
  });

  it('timeout holds the request until the client gives up, and close() does not wait for it', async () => {
    const simulator = await startWithBuilds();
    simulator.inject('timeout');
    await expect(fetchRecord(simulator, 1, AbortSignal.timeout(200))).rejects.toThrow();
    expect(simulator.requests().log).toMatchObject([{ endpoint: 'record-info-v4', status: 0, buildNo: 1 }]);
    simulator.inject('timeout');
    const held = fetchRecord(simulator).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await simulator.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await held).toBeInstanceOf(Error);
  });

  it('honours count, endpoint and jobId filters', async () => {
    const simulator = await startSimulator({
      jobs: [
        { id: JOB, name: 'a', history: 2 },
        { id: jobId(2), name: 'b', history: 2 },
      ],
    });
    simulator.inject('500', { count: 2, endpoint: 'running-status' });
    simulator.inject('cb-00060211', { count: 3, jobId: jobId(2) });
    const statuses = async (path: string, times: number): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < times; i++) out.push((await getJson(simulator, path)).status);
      return out;
    };
    expect(await statuses(recordPath(JOB, 1), 2)).toEqual([200, 200]);
    expect(await statuses(`/v1/job/${JOB}/running-status`, 3)).toEqual([500, 500, 200]);
    expect(await statuses(recordPath(jobId(2), 1, 'v1'), 4)).toEqual([500, 500, 500, 200]);
  });

  it('applies a probability to an ongoing fraction of requests, reproducibly per seed', async () => {
    const run = async (): Promise<number[]> => {
      const simulator = await startSimulator({ seed: 11, jobs: [{ id: JOB, name: 'a', history: 1 }] });
      simulator.inject('500', { probability: 0.3 });
      const out: number[] = [];
      for (let i = 0; i < 40; i++) out.push((await fetchRecord(simulator)).status);
      simulator.clearFaults();
      out.push((await fetchRecord(simulator)).status);
      return out;
    };
    const first = await run();
    expect(await run()).toEqual(first);
    const failures = first.filter((status) => status === 500).length;
    expect(failures).toBeGreaterThan(4);
    expect(failures).toBeLessThan(25);
    expect(first.at(-1)).toBe(200);
  });

  it('rejects nonsense fault options', async () => {
    const simulator = await startWithBuilds();
    expect(() => simulator.inject('500', { count: 0 })).toThrow(RangeError);
    expect(() => simulator.inject('500', { probability: 2 })).toThrow(RangeError);
    expect(() => simulator.inject('nope' as FaultKind)).toThrow(TypeError);
  });
});
