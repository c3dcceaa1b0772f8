import { describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/index.js';
import { AUTH, getJson, jobId, recordPath, startSimulator } from '../helpers/simulator.js';

const JOB = jobId(1);
const DAY_MS = 86_400_000;

/** `yyyy-MM-dd HH:mm:ss` in Beijing time, written here independently of the client's formatter. */
function beijing(ms: number): string {
  return new Date(ms + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
}

function listPath(job: string, fromMs: number, toMs: number, page?: { index?: number; size?: number }): string {
  const query = new URLSearchParams({ start_time: beijing(fromMs), end_time: beijing(toMs) });
  if (page?.index !== undefined) query.set('page_index', String(page.index));
  if (page?.size !== undefined) query.set('page_size', String(page.size));
  return `/v1/record/${job}/list?${query.toString()}`;
}

async function busyJob(): Promise<Simulator> {
  const simulator = await startSimulator({ seed: 5, jobs: [{ id: JOB, name: 'busy', history: 25, buildEverySeconds: 120 }] });
  simulator.advance(900);
  return simulator;
}

interface Item {
  number: number;
  start_time: number;
  state: string;
  job_running_status: string;
  cost_time: number;
  build_time: number;
}

describe('simulator build listing (ListBuildInfoRecordByJobId)', () => {
  it('lists the builds started in the window, newest first, in 0-based pages with string totals', async () => {
    const simulator = await busyJob();
    const nowMs = simulator.now() * 1000;
    const whole = await getJson(simulator, listPath(JOB, nowMs - 20 * DAY_MS, nowMs, { size: 100 }));
    expect(whole.status).toBe(200);
    expect(whole.body).toMatchObject({ status: 'success', error: null });
    const truth = simulator.groundTruth()[0];
    const started = (whole.body.result.job_build_states as Item[]).map((item) => item.number);
    expect(started).toEqual([...(truth?.existing ?? [])].filter((n) => !truth?.queued.includes(n)).reverse());
    expect(whole.body.result).toMatchObject({ page_index: '0', total_record: String(started.length), total_page: '1' });

    const pages: number[][] = [];
    const totalPages = Math.ceil(started.length / 8);
    expect(totalPages).toBeGreaterThan(3);
    for (let index = 0; index <= totalPages; index++) {
      const page = await getJson(simulator, listPath(JOB, nowMs - 20 * DAY_MS, nowMs, { index, size: 8 }));
      expect(page.body.result).toMatchObject({ page_index: String(index), total_page: String(totalPages) });
      pages.push((page.body.result.job_build_states as Item[]).map((item) => item.number));
    }
    // Past the last page: empty.
    expect(pages.at(-1)).toEqual([]);
    expect(pages.flat()).toEqual(started);
    // page_index and page_size default to 0 and 10.
    const first = await getJson(simulator, `/v1/record/${JOB}/list?start_time=${beijing(nowMs - DAY_MS)}&end_time=${beijing(nowMs)}`);
    expect(first.body.result.job_build_states).toHaveLength(Math.min(10, started.length));
  });

  it('selects by start time to the second, both ends included, so windows [a, b - 1s] and [b, c] share no build', async () => {
    const simulator = await busyJob();
    const nowMs = simulator.now() * 1000;
    const all = (await getJson(simulator, listPath(JOB, nowMs - DAY_MS, nowMs, { size: 100 }))).body.result.job_build_states as Item[];
    const middle = all[Math.floor(all.length / 2)];
    if (!middle) throw new Error('no builds listed');
    const splitMs = Math.floor(middle.start_time / 1000) * 1000;
    const numbers = async (fromMs: number, toMs: number) =>
      ((await getJson(simulator, listPath(JOB, fromMs, toMs, { size: 100 }))).body.result.job_build_states as Item[]).map((i) => i.number);
    const before = await numbers(nowMs - DAY_MS, splitMs - 1000);
    const after = await numbers(splitMs, nowMs);
    expect(after.at(-1)).toBe(middle.number);
    expect([...after, ...before]).toEqual(all.map((item) => item.number));
  });

  it('tells what record-info tells of the same build: status, duration, start, finished or running', async () => {
    const simulator = await busyJob();
    const nowMs = simulator.now() * 1000;
    const items = (await getJson(simulator, listPath(JOB, nowMs - DAY_MS, nowMs, { size: 100 }))).body.result.job_build_states as Item[];
    expect(items.some((item) => item.job_running_status === 'Running')).toBe(true);
    for (const item of items) {
      const record = (await getJson(simulator, recordPath(JOB, item.number))).body.result;
      expect(item.state).toBe(record.status);
      expect(item.start_time).toBe(Date.parse(record.start_time));
      const finished = record.finish_time !== null;
      expect(item.job_running_status).toBe(finished ? 'Finished' : 'Running');
      expect(item.build_time).toBe(finished ? Date.parse(record.finish_time) - Date.parse(record.start_time) : 0);
      expect(item.cost_time).toBe(finished ? (record.duration ?? item.build_time) : 0);
    }
  });

  it('refuses a missing or malformed time, an end before the start and a window over 30 days with 400 CB.00060200', async () => {
    const simulator = await busyJob();
    const nowMs = simulator.now() * 1000;
    const refused = [
      `/v1/record/${JOB}/list?end_time=${beijing(nowMs)}`,
      `/v1/record/${JOB}/list?start_time=2026-01-01T00:00:00Z&end_time=${beijing(nowMs)}`,
      `/v1/record/${JOB}/list?start_time=2026-02-30 00:00:00&end_time=${beijing(nowMs)}`,
      listPath(JOB, nowMs, nowMs - 1000),
      listPath(JOB, nowMs - 30 * DAY_MS - 1000, nowMs),
      listPath(JOB, nowMs - DAY_MS, nowMs, { size: 101 }),
      listPath(JOB, nowMs - DAY_MS, nowMs, { index: -1 }),
    ];
    for (const path of refused) {
      const answer = await getJson(simulator, path);
      expect([path, answer.status, answer.body.error_code]).toEqual([path, 400, 'CB.00060200']);
    }
    const tooLong = await getJson(simulator, listPath(JOB, nowMs - 31 * DAY_MS, nowMs));
    expect(tooLong.body.error_msg).toMatch(/cannot exceed 30 days/);
    expect((await getJson(simulator, listPath(JOB, nowMs - 30 * DAY_MS, nowMs))).status).toBe(200);
  });

  it('answers an unknown job as record-info does, and counts every request as record-list', async () => {
    const simulator = await busyJob();
    const nowMs = simulator.now() * 1000;
    const unknown = await getJson(simulator, listPath(jobId(99), nowMs - DAY_MS, nowMs));
    expect([unknown.status, unknown.body.error_code]).toEqual([422, 'DEVCB.00031006']);
    expect((await getJson(simulator, listPath(JOB, nowMs - DAY_MS, nowMs), {})).status).toBe(401);
    expect(simulator.requests().byEndpointStatus).toEqual({ 'record-list': { '422': 1, '401': 1 } });
    expect(simulator.requests().log.map((entry) => entry.jobId)).toEqual([jobId(99), JOB]);
  });

  it('is unavailable when switched off (404 APIGW.0101) or in another mode, switchable at run time', async () => {
    const simulator = await startSimulator({ jobs: [{ id: JOB, name: 'a', history: 3 }], recordList: false });
    const path = listPath(JOB, simulator.now() * 1000 - DAY_MS, simulator.now() * 1000);
    const off = await getJson(simulator, path);
    expect([off.status, off.body.error_code]).toEqual([404, 'APIGW.0101']);
    simulator.setRecordList('forbidden');
    expect((await getJson(simulator, path)).status).toBe(403);
    simulator.setRecordList(true);
    expect((await getJson(simulator, path)).body.result.total_record).toBe('3');
    simulator.setRecordList(false);
    expect((await getJson(simulator, path)).status).toBe(404);
    expect(() => simulator.setRecordList('sometimes' as never)).toThrow(/record-list mode/);
    await expect(startSimulator({ recordList: 'sometimes' as never })).rejects.toThrow(/recordList must be/);
  });

  it('suffers the faults injected for the record-list endpoint only', async () => {
    const simulator = await busyJob();
    simulator.inject('500', { endpoint: 'record-list', count: 2 });
    const path = listPath(JOB, simulator.now() * 1000 - DAY_MS, simulator.now() * 1000);
    expect((await fetch(`${simulator.url}${recordPath(JOB, 1)}`, { headers: AUTH })).status).toBe(200);
    expect((await getJson(simulator, path)).status).toBe(500);
    expect((await getJson(simulator, path)).status).toBe(500);
    expect((await getJson(simulator, path)).status).toBe(200);
  });
});
