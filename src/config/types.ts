/** The validated config's shape and the defaults it is built from. Plain data, no imports. */

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** json: one JSON object per line (log shippers); text: human-readable lines (a terminal). */
export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Opt-in extra labels taken from the build record (docs/metrics.md). */
export const RECORD_LABELS = ['branch', 'repo_name', 'build_type', 'build_config_type', 'executor'] as const;
export type RecordLabel = (typeof RECORD_LABELS)[number];

/** Error codes that mean "this build does not exist" (docs/design.md); `not_found_codes` adds to them. */
export const DEFAULT_NOT_FOUND_CODES = ['DEVCB.00031006', 'CB.00031006', 'CB.00031059'] as const;
export const DEFAULT_DURATION_BUCKETS = [30, 60, 120, 300, 600, 900, 1800, 3600, 7200] as const;
export const DEFAULT_QUEUE_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800] as const;
export const DEFAULT_REGION = 'cn-north-4';
export const DEFAULT_SCHEDULE = '*/30 * * * * *';
export const DEFAULT_PORT = 10987;

export interface TokenAuth {
  kind: 'token';
  /** Project-scoped IAM token sent as X-Auth-Token. Secret. */
  token: string;
}

export interface IamAuth {
  kind: 'iam';
  /** IAM base URL; @default https://iam.<region>.myhuaweicloud.com */
  endpoint: string;
  domain: string;
  user: string;
  /** Secret. */
  password: string;
  /** Exactly one of project / project_id is set; project defaults to the region. */
  project?: string;
  project_id?: string;
}

export interface AkskAuth {
  kind: 'aksk';
  access_key: string;
  /** Secret. */
  secret_key: string;
  /** Sent as X-Project-Id when set. */
  project_id?: string;
}

export type AuthConfig = TokenAuth | IamAuth | AkskAuth;

/** The validated configuration, defaults filled in, durations in milliseconds. */
export interface Config {
  codearts: {
    region: string;
    /** No trailing slash. @default https://cloudbuild-ext.<region>.myhuaweicloud.com */
    endpoint: string;
    record_api: 'v4' | 'v1';
    auth: AuthConfig;
    request_timeout_ms: number;
    max_concurrency: number;
    max_requests_per_second: number;
    retry: { retries: number; min_delay_ms: number; max_delay_ms: number };
    /** The defaults plus whatever the file adds. */
    not_found_codes: string[];
    /** Larger response bodies fail the attempt. */
    max_response_bytes: number;
    /** Forward proxy for CodeArts and IAM, overriding HTTP(S)_PROXY; may hold credentials (secret). */
    proxy?: string;
    /** PEM bundle of extra CA certificates, added to the default roots. */
    ca_file?: string;
    /** Consecutive attempts without an HTTP answer that open the circuit breaker; 0 disables it. */
    breaker_failures: number;
  };
  poll: {
    schedule: string;
    timezone: string;
    start_at: 'latest' | number;
    max_builds_per_job_per_cycle: number;
    /** A build pending longer than this (in progress, unknown status, invalid record) is given up. */
    max_pending_age_ms: number;
    /** How often jobs are listed from `projects`. */
    discovery_interval_ms: number;
    /** How long a job that disappeared from discovery keeps its series before they are removed. */
    removed_job_grace_ms: number;
    /** /healthz answers 503 when no cycle has finished for this many poll periods; 0 disables. */
    watchdog_periods: number;
  };
  jobs: Array<{ id: string; name?: string }>;
  /** CodeArts projects whose build jobs are discovered; include/exclude are regexes on job names. */
  projects: Array<{ id: string; include?: string; exclude?: string }>;
  metrics: {
    record_labels: RecordLabel[];
    duration_buckets: number[];
    queue_buckets: number[];
    job_histograms: boolean;
  };
  server: { host: string; port: number };
  state: {
    path: string;
    /** How long the saved cursor of a removed job is kept, so a job that reappears does not re-count. */
    keep_removed_jobs_ms: number;
  };
  log: { level: LogLevel; format: LogFormat };
}
