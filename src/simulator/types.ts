/** Public types of the fake CodeArts Build API. Re-exported by `index.ts`. */

/**
 * How a job answers for a build number that does not exist. The first five are seen or plausible
 * (API notes); `200-empty` (`result: {}`) and `200-invalid` (a result without status and with a
 * non-numeric build_no) are broken answers a gateway or a faulty release could give.
 */
export type NotFoundShape = '404' | '422-devcb' | '422-cb' | '403-cb' | '200-fail' | '200-empty' | '200-invalid';

export interface SimJobSpec {
  /** 32 lowercase hex characters. */
  id: string;
  name: string;
  /** 32 hex: the CodeArts project the job belongs to. */
  projectId?: string;
  /** Finished builds that already exist at time 0, numbered 1..history. */
  history?: number;
  /** Retention: build numbers below this answer not-found. @default 1 (none deleted) */
  deletedBelow?: number;
  /** Mean interval between new builds (Poisson); 0 = no new builds. */
  buildEverySeconds?: number;
  /** Mean interval between the history builds (a long history with few new builds). @default buildEverySeconds, or 300 when 0 */
  historyEverySeconds?: number;
  /** @default '422-devcb' */
  notFound?: NotFoundShape;
}

export interface SimulatorOptions {
  /** @default 1 */
  seed?: number;
  /** A count generates jobs with random ids and names. @default 3 */
  jobs?: number | SimJobSpec[];
  /** @default 0 (random) */
  port?: number;
  /** Interface to bind. @default '127.0.0.1' */
  host?: string;
  /** manual: time moves only by advance(). @default 'manual' */
  clock?: 'manual' | 'realtime';
  /** Realtime only: virtual seconds per real second. @default 1 */
  speed?: number;
  /** Virtual Unix seconds at t0. @default 1_767_225_600 (2026-01-01Z) */
  startTime?: number;
  /** Added to every response. @default 0 */
  latencyMs?: number;
  /** Default mean build interval for jobs. @default 300 */
  buildEverySeconds?: number;
  /** Probability that a build number is skipped and never exists. @default 0.02 */
  gapProbability?: number;
  /** The accepted X-Auth-Token in `token` auth mode; anything else gets 401. @default 'sim-token-NOT-A-SECRET' */
  token?: string;
  /** How CodeArts routes check credentials. @default { mode: 'token' } */
  auth?: SimAuthOptions;
  /**
   * How GET /v1/job/{job_id}/running-status answers: `ok`, or unavailable the ways CodeArts can be
   * (`route-not-found`: 404 APIGW.0101, route not published in the region; `forbidden`: 403, a user
   * without the permission; `server-error`: 500; `malformed`: 200 with a body that is not JSON).
   * `true` is `ok`, `false` is `route-not-found`. @default 'ok'
   */
  runningStatus?: boolean | RunningStatusMode;
  /**
   * Shape of GET /v1/job/{project_id}/list: `sdk` is the official SDK's bare
   * `{ total, jobs: [Job] }` (ListProjectJobsResponse); `enveloped` wraps the items as the global job
   * list does (`{ status, result: { total, job_list } }`, ListJobResponse). @default 'sdk'
   */
  jobListShape?: JobListShape;
  /**
   * Ways a job list can misbehave: `pageCap` answers at most this many jobs per page whatever
   * page_size asks (short pages before the end); `totalOffset` is added to the reported `total`
   * (a total the pages never reach).
   */
  jobListQuirks?: { pageCap?: number; totalOffset?: number };
  /** How the global job list GET /v1/job/list (ListJob, the exporter's change feed) answers. @default { mode: 'ok' } */
  jobFeed?: JobFeedOptions;
  /** The unit full-stages states step durations in (`build_duration`, `pending_duration`); none is documented. @default 'ms' */
  stageUnit?: 'ms' | 's';
  /**
   * How the build listing GET /v1/record/{job_id}/list (ListBuildInfoRecordByJobId) answers: `ok`,
   * or unavailable the ways running-status can be. `true` is `ok`, `false` is `route-not-found`
   * (404 APIGW.0101, the route not published in the region). @default true
   */
  recordList?: boolean | RunningStatusMode;
}

export type RunningStatusMode = 'ok' | 'route-not-found' | 'forbidden' | 'server-error' | 'malformed';
export type JobListShape = 'sdk' | 'enveloped';

/**
 * The global job list (ListJob): every job the caller may see, with its newest build. It can be
 * unavailable the ways running-status can (`mode`), late (`lagSeconds`: each job is shown as it
 * was that long ago, so a new build appears in the list that much later; `jobLagSeconds` per job,
 * a huge value being a list that never shows the job's new builds), and incomplete (`hiddenJobs`:
 * jobs it does not show, as for another project's jobs or missing permissions).
 */
export interface JobFeedOptions {
  /** @default 'ok' */
  mode?: RunningStatusMode;
  /** @default 0 */
  lagSeconds?: number;
  /** Per job id, replacing `lagSeconds` for that job. */
  jobLagSeconds?: Record<string, number>;
  hiddenJobs?: string[];
  /**
   * `enveloped`: the SDK's ListJobResponse `{ status, result: { total, job_list } }`; `bare`:
   * `{ total, job_list }` without the envelope, with `total` and `last_build_time` as numeric
   * strings (variations the exporter accepts). @default 'enveloped'
   */
  shape?: 'enveloped' | 'bare';
}

/** A build started by hand (`Simulator.triggerBuild`). */
export interface TriggerOptions {
  /** Numbers skipped before it (they never exist). @default 0 */
  skipNumbers?: number;
  queueSeconds?: number;
  durationSeconds?: number;
  /** The status it finishes with, one of the simulator's finished statuses (e.g. `SUCCESS`). @default drawn at random */
  status?: string;
}

/**
 * A build whose record a test bends out of its natural course:
 * - `unknown-status`: from now on shows `status` (a value nobody recognises) with no finish_time;
 * - `aborted-in-queue`: was aborted while queued, `afterSeconds` after its creation (no start_time);
 * - `not-found`: answers the next `times` record-info requests as missing (`shape`, default
 *   403 CB.00031059), as a gateway hiccup would; it still exists;
 * - `invalid-record`: from now on answers 200 with a record that fails validation (no status, a
 *   non-numeric build_no), as a broken record would.
 */
export type BuildOverride =
  | { kind: 'unknown-status'; status: string }
  | { kind: 'aborted-in-queue'; afterSeconds: number }
  | { kind: 'not-found'; times: number; shape?: NotFoundShape }
  | { kind: 'invalid-record' };

/** An IAM user the `iam` auth mode issues tokens to. */
export interface SimIamUser {
  domain: string;
  user: string;
  password: string;
  /** When set, only this project (by name, or by the id the simulator reports for it) may be scoped. */
  project?: string;
}

/**
 * Gateway authentication. IAM token expiry and X-Sdk-Date checks run on real time (plus
 * `setAuthClockOffset`), not on the virtual clock, because the exporter signs and refreshes on real time.
 * - `token`: one static X-Auth-Token (`options.token`); POST /v3/auth/tokens hands it out, valid 24 h.
 * - `iam`: POST /v3/auth/tokens issues tokens living `tokenLifetimeSeconds`; CodeArts routes accept
 *   only issued, unexpired, unrevoked ones (401 APIGW.0301 otherwise).
 * - `aksk`: every CodeArts request must carry a valid SDK-HMAC-SHA256 signature by one of `keys`
 *   (access key -> secret key); 401 APIGW.0301 / APIGW.0303 (X-Sdk-Date over 15 minutes off) otherwise.
 */
export type SimAuthOptions =
  | { mode: 'token' }
  | {
      mode: 'iam';
      tokenLifetimeSeconds: number;
      users: SimIamUser[];
      /**
       * The project (name) CodeArts serves: tokens scoped to any other project are refused with 401
       * APIGW.0301 although IAM issued them (a token for the wrong region). @default any project
       */
      codeartsProject?: string;
    }
  | { mode: 'aksk'; keys: Record<string, string> };

export type GroundTruthResult = 'success' | 'failure' | 'aborted' | 'timeout' | 'unknown';

/** A finished build as the simulator knows it. Times are Unix seconds (millisecond precision). */
export interface GroundTruthBuild {
  buildNo: number;
  result: GroundTruthResult;
  rawStatus: string;
  /** The lower-case label value the exporter must produce (`unknown` when the record has none). */
  triggerType: string;
  /** The record's `duration`, or finish - start when the record omits it. */
  durationMs: number;
  queueSeconds: number;
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  /** Aborted while queued: no start_time, no duration; its queue time runs from creation to finish. */
  neverStarted?: true;
  /** The steps the exporter must observe (full-stages, or history-details when that map is empty), in order. */
  steps: GroundTruthStep[];
  /** The commit built, when the record has one (retried builds share their predecessor's). */
  commit?: string;
  /** Failed builds: the step and error code of each error node of the log analysis; empty for the others. */
  failureCauses: GroundTruthCause[];
}

export interface GroundTruthCause {
  step: string;
  errorCode: string;
}

/** One step of a finished build: seconds it ran, and waited when full-stages told it. */
export interface GroundTruthStep {
  step: string;
  durationSeconds: number;
  pendingSeconds?: number;
}

export interface GroundTruthJob {
  id: string;
  name: string;
  /** Sorted by build number. */
  finished: GroundTruthBuild[];
  /** Visible but not finished (includes the queued ones). */
  inProgress: number[];
  /** Visible, not started. */
  queued: number[];
  /** Every visible build number, ascending. */
  existing: number[];
  /** Highest visible build number, 0 when none. */
  highest: number;
}

export type Endpoint =
  | 'record-info-v4'
  | 'record-info-v1'
  | 'running-status'
  | 'job-list'
  | 'job-list-all'
  | 'full-stages'
  | 'history-details'
  | 'log-analysis'
  /** ListBuildInfoRecordByJobId, `GET /v1/record/{job_id}/list`: a job's builds in a time window. */
  | 'record-list'
  | 'iam-token'
  | 'other';

export type FaultKind =
  | '500'
  | '429'
  | 'apig-0308'
  | 'cb-00060211'
  | 'cb-00060100'
  | 'timeout'
  | 'reset'
  | 'malformed'
  | 'truncated'
  | 'schema'
  | 'string-json'
  /** 200 headers, then one byte a second, forever. */
  | 'slow-body'
  /** 200 headers, then body bytes as fast as the client reads them, forever. */
  | 'endless-body'
  /** The connection is accepted and never answered (until the simulator closes). */
  | 'blackhole'
  /** 302 to `FaultOptions.location` (another server's URL). */
  | 'redirect'
  /** 404 with an HTML page, as a proxy or a wrong base path answers. */
  | '404-html'
  /** 404 with an empty body. */
  | '404-empty'
  /** 404 with a JSON body that is not a CodeArts error ({"message": "Not Found"}). */
  | '404-json';

/**
 * Without `count` or `probability` a fault hits the next matching request once. `count` alone: the
 * next N matching requests. `probability` alone: that fraction of matching requests until
 * clearFaults(). Both: each matching request with that probability, at most N times.
 */
export interface FaultOptions {
  count?: number;
  probability?: number;
  endpoint?: Endpoint;
  jobId?: string;
  /** `redirect` only: the Location sent (the request's path and query are appended). */
  location?: string;
}

export interface RequestLogEntry {
  /** Real milliseconds since start or the last resetRequests(). */
  t: number;
  endpoint: Endpoint;
  jobId?: string;
  buildNo?: number;
  /** HTTP status sent; 0 for a reset connection or a held (timeout) request. */
  status: number;
}

export interface RequestCounts {
  byEndpoint: Record<string, number>;
  byEndpointStatus: Record<string, Record<string, number>>;
  /** Record-info requests (v4 + v1). */
  recordInfo: number;
  /** Record-info requests per 1-second real-time window since start/reset, up to the current window. */
  perSecond: number[];
  log: RequestLogEntry[];
}

export interface Simulator {
  url: string;
  port: number;
  /** Virtual Unix seconds. */
  now(): number;
  /** Moves virtual time forward (in realtime mode: jumps ahead of the running clock). */
  advance(seconds: number): void;
  /** What exists at now(), from the simulator's own tables. */
  groundTruth(): GroundTruthJob[];
  jobs(): SimJobSpec[];
  addJob(spec: Partial<SimJobSpec>): SimJobSpec;
  removeJob(id: string): void;
  /** Renames a job (as a user would in the CodeArts console); its builds stay. */
  renameJob(id: string, name: string): void;
  requests(): RequestCounts;
  resetRequests(): void;
  inject(fault: FaultKind, opts?: FaultOptions): void;
  clearFaults(): void;
  setLatency(ms: number): void;
  /** Switches how running-status answers from now on. */
  setRunningStatus(mode: RunningStatusMode): void;
  /** Changes how the global job list answers from now on (the given fields replace the current ones). */
  setJobFeed(options: JobFeedOptions): void;
  /** Switches how the build listing answers from now on (`SimulatorOptions.recordList`). */
  setRecordList(enabled: boolean | RunningStatusMode): void;
  /** Switches how a job answers for build numbers that do not exist (retention included). */
  setNotFoundShape(jobId: string, shape: NotFoundShape): void;
  /** Retention: from now on the job's builds below `deletedBelow` answer not-found. */
  setRetention(jobId: string, deletedBelow: number): void;
  /** Starts a build of the job now (see TriggerOptions); returns its number. */
  triggerBuild(jobId: string, options?: TriggerOptions): number;
  /** Bends one build's record (see BuildOverride); the ground truth follows. */
  overrideBuild(jobId: string, buildNo: number, override: BuildOverride): void;
  /** `iam` auth mode: invalidates every token issued so far (what a password change does); returns how many. */
  revokeTokens(): number;
  /** Moves the gateway's auth clock (token expiry, X-Sdk-Date checks) this many seconds ahead of real time. */
  setAuthClockOffset(seconds: number): void;
  close(): Promise<void>;
}
