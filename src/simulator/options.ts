import type { JobFeedOptions, JobListShape, RunningStatusMode, SimAuthOptions, SimJobSpec, SimulatorOptions } from './types.js';

export const DEFAULT_TOKEN = 'sim-token-NOT-A-SECRET';
export const DEFAULT_START_TIME = 1_767_225_600;

export type ResolvedJobFeed = Required<JobFeedOptions>;

export type ResolvedOptions = Required<Omit<SimulatorOptions, 'jobs' | 'runningStatus' | 'jobFeed' | 'recordList'>> & {
  jobs: number | SimJobSpec[];
  runningStatus: RunningStatusMode;
  recordList: RunningStatusMode;
  jobFeed: ResolvedJobFeed;
};

export const RUNNING_STATUS_MODES: readonly RunningStatusMode[] = ['ok', 'route-not-found', 'forbidden', 'server-error', 'malformed'];
const JOB_LIST_SHAPES: readonly JobListShape[] = ['sdk', 'enveloped'];

/** Fills in defaults and rejects values that would make the simulation meaningless. */
export function resolveOptions(options: SimulatorOptions = {}): ResolvedOptions {
  const resolved = withDefaults(options);
  const problems = optionProblems(resolved);
  if (problems.length > 0) throw new TypeError(`invalid simulator options: ${problems.join('; ')}`);
  return resolved;
}

function withDefaults(options: SimulatorOptions): ResolvedOptions {
  return {
    seed: options.seed ?? 1,
    jobs: options.jobs ?? 3,
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    clock: options.clock ?? 'manual',
    speed: options.speed ?? 1,
    // A realtime simulator (demo, compose) shows current timestamps; a manual one is reproducible.
    startTime: options.startTime ?? (options.clock === 'realtime' ? Math.floor(Date.now() / 1000) : DEFAULT_START_TIME),
    latencyMs: options.latencyMs ?? 0,
    buildEverySeconds: options.buildEverySeconds ?? 300,
    gapProbability: options.gapProbability ?? 0.02,
    token: options.token ?? DEFAULT_TOKEN,
    runningStatus: availability(options.runningStatus),
    recordList: availability(options.recordList),
    jobListShape: options.jobListShape ?? 'sdk',
    jobListQuirks: options.jobListQuirks ?? {},
    stageUnit: options.stageUnit ?? 'ms',
    auth: options.auth ?? { mode: 'token' },
    jobFeed: resolveJobFeed(options.jobFeed ?? {}),
  };
}

function optionProblems(resolved: ResolvedOptions): string[] {
  const problems: string[] = [];
  const check = (ok: boolean, message: string): void => {
    if (!ok) problems.push(message);
  };
  check(Number.isInteger(resolved.seed), `seed must be an integer, got ${resolved.seed}`);
  if (typeof resolved.jobs === 'number') {
    check(Number.isInteger(resolved.jobs) && resolved.jobs >= 0, `jobs must be an integer >= 0, got ${resolved.jobs}`);
  }
  const { port } = resolved;
  // Checked at run time too: the options also come from JavaScript callers and the command line.
  const clock: string = resolved.clock;
  check(Number.isInteger(port) && port >= 0 && port <= 65535, `port must be 0-65535, got ${port}`);
  check(clock === 'manual' || clock === 'realtime', `clock must be manual or realtime, got ${clock}`);
  check(Number.isFinite(resolved.speed) && resolved.speed > 0, `speed must be > 0, got ${resolved.speed}`);
  check(Number.isFinite(resolved.startTime), `startTime must be a finite number, got ${resolved.startTime}`);
  check(Number.isFinite(resolved.latencyMs) && resolved.latencyMs >= 0, `latencyMs must be >= 0, got ${resolved.latencyMs}`);
  check(
    Number.isFinite(resolved.buildEverySeconds) && resolved.buildEverySeconds >= 0,
    `buildEverySeconds must be >= 0, got ${resolved.buildEverySeconds}`,
  );
  // A probability of 1 would skip build numbers forever.
  check(
    resolved.gapProbability >= 0 && resolved.gapProbability < 1,
    `gapProbability must be within [0, 1), got ${resolved.gapProbability}`,
  );
  check(resolved.token !== '', 'token must not be empty');
  check(
    RUNNING_STATUS_MODES.includes(resolved.runningStatus),
    `runningStatus must be true, false or one of ${RUNNING_STATUS_MODES.join(', ')}`,
  );
  check(RUNNING_STATUS_MODES.includes(resolved.recordList), `recordList must be true, false or one of ${RUNNING_STATUS_MODES.join(', ')}`);
  check(JOB_LIST_SHAPES.includes(resolved.jobListShape), `jobListShape must be one of ${JOB_LIST_SHAPES.join(', ')}`);
  const { pageCap, totalOffset } = resolved.jobListQuirks;
  check(
    pageCap === undefined || (Number.isInteger(pageCap) && pageCap >= 1),
    `jobListQuirks.pageCap must be an integer >= 1, got ${pageCap}`,
  );
  check(totalOffset === undefined || Number.isInteger(totalOffset), `jobListQuirks.totalOffset must be an integer, got ${totalOffset}`);
  problems.push(...jobFeedProblems(resolved.jobFeed));
  problems.push(...authProblems(resolved.auth));
  return problems;
}

/** An optional endpoint's mode: `true` (or nothing) is `ok`, `false` is `route-not-found`. */
export function availability(value: boolean | RunningStatusMode | undefined): RunningStatusMode {
  if (value === false) return 'route-not-found';
  return value === true || value === undefined ? 'ok' : value;
}

/** The job feed's settings with every default filled in; `current` supplies what `options` leaves out. */
export function resolveJobFeed(options: JobFeedOptions, current?: ResolvedJobFeed): ResolvedJobFeed {
  return {
    mode: options.mode ?? current?.mode ?? 'ok',
    lagSeconds: options.lagSeconds ?? current?.lagSeconds ?? 0,
    jobLagSeconds: { ...(options.jobLagSeconds ?? current?.jobLagSeconds ?? {}) },
    hiddenJobs: [...(options.hiddenJobs ?? current?.hiddenJobs ?? [])],
    shape: options.shape ?? current?.shape ?? 'enveloped',
  };
}

export function jobFeedProblems(feed: ResolvedJobFeed): string[] {
  const problems: string[] = [];
  const lag = (value: number) => Number.isFinite(value) && value >= 0;
  if (!RUNNING_STATUS_MODES.includes(feed.mode)) problems.push(`jobFeed.mode must be one of ${RUNNING_STATUS_MODES.join(', ')}`);
  if (!lag(feed.lagSeconds)) problems.push(`jobFeed.lagSeconds must be >= 0, got ${feed.lagSeconds}`);
  for (const [id, seconds] of Object.entries(feed.jobLagSeconds))
    if (!lag(seconds)) problems.push(`jobFeed.jobLagSeconds.${id} must be >= 0, got ${seconds}`);
  if (!(['enveloped', 'bare'] as string[]).includes(feed.shape))
    problems.push(`jobFeed.shape must be enveloped or bare, got ${feed.shape}`);
  return problems;
}

function authProblems(auth: SimAuthOptions): string[] {
  switch (auth.mode) {
    case 'token':
      return [];
    case 'iam': {
      const problems: string[] = [];
      if (!(Number.isFinite(auth.tokenLifetimeSeconds) && auth.tokenLifetimeSeconds > 0)) {
        problems.push(`auth.tokenLifetimeSeconds must be > 0, got ${auth.tokenLifetimeSeconds}`);
      }
      if (!Array.isArray(auth.users) || auth.users.length === 0) problems.push('auth.users must name at least one IAM user');
      return problems;
    }
    case 'aksk':
      return Object.keys(auth.keys).length === 0 ? ['auth.keys must hold at least one access key'] : [];
    default:
      return [`auth.mode must be token, iam or aksk, got ${String((auth as { mode?: unknown }).mode)}`];
  }
}
