import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator, type SimJobSpec, type Simulator } from '../../src/simulator/index.js';
import type { Exporter } from '../../src/exporter.js';
import { select, valueOf, type Sample } from '../helpers/exposition.js';
import { createTestExporter, scrape, testConfig } from '../helpers/exporter-harness.js';
import { compareCounters } from '../helpers/ground-truth.js';
import { sleep } from '../../src/support/clock.js';

const PROJECTS = ['f0000000000000000000000000000001', 'f0000000000000000000000000000002', 'f0000000000000000000000000000003'];
const hex = (n: number) => n.toString(16).padStart(32, '0');

function fleet(): SimJobSpec[] {
  const sizes = [130, 80, 40];
  const jobs: SimJobSpec[] = [];
  sizes.forEach((size, p) => {
    for (let i = 0; i < size; i++) {
      const kind = i % 5 === 0 ? 'nightly' : 'ci';
      jobs.push({ id: hex(p * 1000 + i + 1), name: `p${p}-${kind}-${i}`, projectId: PROJECTS[p], history: 3, buildEverySeconds: 0 });
    }
  });
  return jobs;
}

const jobNames = (samples: Sample[]) =>
  new Map(select(samples, 'codearts_build_last_number').map((s) => [s.labels.job_id, s.labels.job_name]));
const LAST_POLL = 'codearts_exporter_last_successful_poll_timestamp_seconds';

describe('job discovery from CodeArts projects', () => {
  let simulator: Simulator | undefined;
  let exporter: Exporter | undefined;
  afterEach(async () => {
    await exporter?.stop();
    await simulator?.close();
  });

  async function setup(overrides: Record<string, unknown> = {}, jobs: SimJobSpec[] = fleet()) {
    simulator = await createSimulator({ seed: 13, jobs, gapProbability: 0 });
    const config = testConfig(simulator, {
      jobs: [],
      projects: [{ id: PROJECTS[0] }, { id: PROJECTS[1], exclude: '-nightly-' }, { id: PROJECTS[2], include: '^p2-ci-' }],
      poll: { discovery_interval: '50ms', removed_job_grace: '300ms', start_at: 'latest' },
      log: { level: 'info' },
      ...overrides,
    });
    ({ exporter } = await createTestExporter(config));
    return { simulator, exporter };
  }

  it('polls 250 jobs across 3 projects and several pages with their names, filtered, at ceil(n/100) list requests per project', async () => {
    const { simulator, exporter } = await setup();
    const summary = await exporter.runCycle();
    expect(summary.outcome).toBe('success');
    const listRequests = simulator.requests().log.filter((entry) => entry.endpoint === 'job-list').length;
    expect(listRequests).toBe(2 + 1 + 1);

    const expected = simulator.jobs().filter((job) => {
      if (job.projectId === PROJECTS[1]) return !job.name.includes('-nightly-');
      if (job.projectId === PROJECTS[2]) return job.name.startsWith('p2-ci-');
      return true;
    });
    const names = jobNames(await scrape(exporter));
    expect(names.size).toBe(expected.length);
    for (const job of expected) expect(names.get(job.id)).toBe(job.name);
    expect(expected.length).toBe(130 + 64 + 32);
    const samples = await scrape(exporter);
    expect(valueOf(samples, 'codearts_exporter_discovered_jobs', { project_id: PROJECTS[1] ?? '' })).toBe(64);
  }, 60_000);

  it('polls a job added later without its history, removes a deleted job after the grace period, keeps counts across a rename', async () => {
    const jobs = fleet()
      .slice(0, 5)
      .map((job) => ({ ...job, projectId: PROJECTS[0], buildEverySeconds: 300 }));
    const { simulator, exporter } = await setup({ projects: [{ id: PROJECTS[0] }] }, jobs);
    await exporter.runCycle();
    for (let i = 0; i < 10; i++) {
      simulator.advance(600);
      await exporter.runCycle();
    }
    const renamed = jobs[1]?.id ?? '';
    const removed = jobs[2]?.id ?? '';
    const before = await scrape(exporter);
    const renamedCount = select(before, 'codearts_builds_total', { job_id: renamed }).reduce((sum, s) => sum + s.value, 0);
    expect(renamedCount).toBeGreaterThan(0);

    const added = simulator.addJob({ id: hex(9999), name: 'late-arrival', projectId: PROJECTS[0], history: 40, buildEverySeconds: 0 });
    simulator.renameJob(renamed, 'renamed-in-codearts');
    simulator.removeJob(removed);
    await sleep(60);
    await exporter.runCycle();

    let samples = await scrape(exporter);
    expect(valueOf(samples, 'codearts_build_last_number', { job_id: added.id, job_name: 'late-arrival' })).toBe(40);
    expect(select(samples, 'codearts_builds_total', { job_id: added.id }).every((s) => s.value === 0)).toBe(true);
    expect(
      select(samples, 'codearts_builds_total', { job_id: renamed, job_name: 'renamed-in-codearts' }).reduce((sum, s) => sum + s.value, 0),
    ).toBe(renamedCount);
    expect(select(samples, 'codearts_builds_total', { job_id: renamed, job_name: jobs[1]?.name ?? '' })).toEqual([]);
    // Within the grace period the removed job's series stay; it is no longer polled.
    expect(select(samples, 'codearts_builds_total', { job_id: removed }).length).toBe(5);
    // ...but its last-successful-poll time goes at once, so CodeArtsExporterPollsStale cannot fire for it.
    expect(select(samples, LAST_POLL, { job_id: removed })).toEqual([]);
    expect(select(samples, LAST_POLL).length).toBe(jobs.length);

    await sleep(350);
    await exporter.runCycle();
    samples = await scrape(exporter);
    expect(select(samples, 'codearts_builds_total', { job_id: removed })).toEqual([]);
    expect(select(samples, 'codearts_build_last_number', { job_id: removed })).toEqual([]);
    for (const job of simulator.groundTruth().filter((j) => j.id !== added.id)) {
      const counted = select(samples, 'codearts_builds_total', { job_id: job.id }).reduce((sum, s) => sum + s.value, 0);
      expect(counted, job.name).toBe(job.finished.filter((b) => b.buildNo > 3).length);
    }
  }, 60_000);

  it('continues a job that comes back from its saved cursor instead of counting its history', async () => {
    const jobs = fleet()
      .slice(0, 3)
      .map((job) => ({ ...job, projectId: PROJECTS[0], history: 20, buildEverySeconds: 0 }));
    const { simulator, exporter } = await setup(
      { projects: [{ id: PROJECTS[0] }], poll: { start_at: 1, discovery_interval: '50ms', removed_job_grace: '0s' } },
      jobs,
    );
    await exporter.runCycle();
    const leaving = jobs[0] as SimJobSpec;
    const counted = (samples: Sample[]) =>
      select(samples, 'codearts_builds_total', { job_id: leaving.id }).reduce((sum, s) => sum + s.value, 0);
    expect(counted(await scrape(exporter))).toBe(20);

    const lastPolled = valueOf(await scrape(exporter), LAST_POLL, { job_id: leaving.id });
    expect(lastPolled).toBeGreaterThan(0);
    simulator.removeJob(leaving.id);
    await sleep(60);
    await exporter.runCycle();
    expect(select(await scrape(exporter), 'codearts_builds_total', { job_id: leaving.id })).toEqual([]);
    expect(select(await scrape(exporter), LAST_POLL, { job_id: leaving.id })).toEqual([]);

    simulator.addJob(leaving);
    await sleep(60);
    await exporter.runCycle();
    const samples = await scrape(exporter);
    // Back under its name, at its saved cursor, with none of its 20 old builds counted again: its
    // counts continue from the store (they survive its absence, as they survive restarts).
    expect(valueOf(samples, 'codearts_build_last_number', { job_id: leaving.id, job_name: leaving.name })).toBe(20);
    expect(counted(samples)).toBe(20);
    expect(valueOf(samples, LAST_POLL, { job_id: leaving.id })).toBeGreaterThanOrEqual(lastPolled ?? 0);
  }, 60_000);

  it('a job that leaves and returns within the grace period keeps its series and shows its last poll again', async () => {
    const jobs = fleet()
      .slice(0, 2)
      .map((job) => ({ ...job, projectId: PROJECTS[0], history: 5, buildEverySeconds: 0 }));
    const { simulator, exporter } = await setup(
      { projects: [{ id: PROJECTS[0] }], poll: { start_at: 1, discovery_interval: '50ms', removed_job_grace: '1h' } },
      jobs,
    );
    await exporter.runCycle();
    const leaving = jobs[0] as SimJobSpec;
    const lastPolled = valueOf(await scrape(exporter), LAST_POLL, { job_id: leaving.id, job_name: leaving.name });
    expect(lastPolled).toBeGreaterThan(0);

    simulator.removeJob(leaving.id);
    await sleep(60);
    await exporter.runCycle();
    let samples = await scrape(exporter);
    expect(select(samples, LAST_POLL, { job_id: leaving.id })).toEqual([]);
    expect(select(samples, 'codearts_builds_total', { job_id: leaving.id }).length).toBe(5);

    // Back before its series were removed; the next cycle fails so that only the restored value shows.
    simulator.addJob(leaving);
    simulator.inject('500', { endpoint: 'record-info-v4', count: 1000 });
    simulator.inject('500', { endpoint: 'running-status', count: 1000 });
    await sleep(60);
    await exporter.runCycle();
    samples = await scrape(exporter);
    expect(valueOf(samples, LAST_POLL, { job_id: leaving.id, job_name: leaving.name })).toBe(lastPolled);
  }, 60_000);

  it('labels every build series with its project: same-named jobs of two projects stay apart, static jobs keep their own', async () => {
    const [P0, P1] = [PROJECTS[0] ?? '', PROJECTS[1] ?? ''];
    const jobs: SimJobSpec[] = [
      { id: hex(1), name: 'backend-ci', projectId: P0, history: 4, buildEverySeconds: 120 },
      { id: hex(2), name: 'backend-ci', projectId: P1, history: 4, buildEverySeconds: 120 },
      { id: hex(3), name: 'static-with-project', projectId: P1, history: 4, buildEverySeconds: 120 },
      { id: hex(4), name: 'static-alone', history: 4, buildEverySeconds: 120 },
    ];
    const STATIC_PROJECT = 'f00000000000000000000000000000aa';
    const { simulator, exporter } = await setup(
      {
        // hex(1) is static too, without a project: it stays without one although discovery lists it.
        jobs: [{ id: hex(1) }, { id: hex(3), project: STATIC_PROJECT }, { id: hex(4) }],
        projects: [{ id: P0 }, { id: P1 }],
        poll: { start_at: 1, discovery_interval: '50ms' },
      },
      jobs,
    );
    for (let i = 0; i < 4; i++) {
      simulator.advance(300);
      await exporter.runCycle();
    }
    const samples = await scrape(exporter);
    const expected = new Map([
      [hex(1), undefined],
      [hex(2), P1],
      [hex(3), STATIC_PROJECT],
      [hex(4), undefined],
    ]);
    const buildFamilies = samples.filter((s) => s.name.startsWith('codearts_build'));
    expect(new Set(buildFamilies.map((s) => s.labels.job_id))).toEqual(new Set(expected.keys()));
    for (const sample of buildFamilies)
      expect([sample.name, sample.labels.project]).toEqual([sample.name, expected.get(sample.labels.job_id ?? '')]);
    // Two jobs named backend-ci: one series per job and result, each with its own count.
    const pair = select(samples, 'codearts_builds_total', { job_name: 'backend-ci', result: 'success' });
    expect(pair.map((s) => s.labels.job_id).sort()).toEqual([hex(1), hex(2)]);
    expect(pair.map((s) => s.labels.project ?? '').sort()).toEqual(['', P1]);
    for (const job of simulator.groundTruth()) expect(compareCounters(samples, job)).toEqual([]);
  }, 60_000);

  it('keeps the last known jobs when listing fails, reports it, and loses nothing', async () => {
    const jobs = fleet()
      .slice(0, 4)
      .map((job) => ({ ...job, projectId: PROJECTS[0], buildEverySeconds: 200 }));
    const { simulator, exporter } = await setup(
      { projects: [{ id: PROJECTS[0] }], poll: { start_at: 1, discovery_interval: '50ms' } },
      jobs,
    );
    await exporter.runCycle();
    simulator.inject('500', { probability: 1, endpoint: 'job-list' });
    for (let i = 0; i < 6; i++) {
      simulator.advance(400);
      await sleep(60);
      await exporter.runCycle();
    }
    const samples = await scrape(exporter);
    expect(valueOf(samples, 'codearts_exporter_discovery_errors_total', { project_id: PROJECTS[0] ?? '' })).toBeGreaterThanOrEqual(5);
    expect(valueOf(samples, 'codearts_exporter_discovered_jobs', { project_id: PROJECTS[0] ?? '' })).toBe(4);
    expect(jobNames(samples).size).toBe(4);
    for (const job of simulator.groundTruth()) expect(compareCounters(samples, job)).toEqual([]);
  }, 60_000);
});
