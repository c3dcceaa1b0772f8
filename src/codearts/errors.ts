/**
 * How a failed CodeArts call is handled (docs/design.md, "Talking to CodeArts"):
 * - `not_found`: the build does not exist (the forward probe's stop signal); never retried.
 * - `transient`: network, timeout, throttling, 5xx, malformed bodies; retried with backoff.
 * - `unauthorized`: 401; the auth provider may refresh once.
 * - `permanent`: any other 4xx; not retried this cycle.
 */
export type FailureKind = 'not_found' | 'transient' | 'unauthorized' | 'permanent';

/**
 * A CodeArts API route this client calls: `job-list` is a project's job list (discovery),
 * `job-list-all` the global job list `GET /v1/job/list` (the change feed), `record-list` a job's
 * builds in a time window `GET /v1/record/{job_id}/list`.
 */
export type Route =
  'record-info' | 'running-status' | 'job-list' | 'job-list-all' | 'record-list' | 'full-stages' | 'history-details' | 'log-analysis';

export type CodeArtsErrorStatus = number | 'timeout' | 'network' | 'auth' | 'circuit_open';

/** A CodeArts call that did not return a usable result. Messages never contain credentials. */
export class CodeArtsError extends Error {
  override readonly name = 'CodeArtsError';
  readonly kind: FailureKind;
  readonly route: Route;
  /** What was asked for: "job X build 7", "project P page 0". */
  readonly target: string;
  /**
   * HTTP status; 'timeout' / 'network' when no complete answer arrived; 'auth' when no credentials
   * could be had; 'circuit_open' when the call was not sent because CodeArts was unreachable.
   */
  readonly status: CodeArtsErrorStatus;
  /** The reason, without endpoint, target and status. */
  readonly detail: string;
  /** Network failures: the host and port called and the system error code (never the path or query). */
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly errno: string | undefined;
  /** CodeArts or gateway error code such as `CB.00060211`, when the body had one. */
  readonly code: string | undefined;
  /** Milliseconds the server asked us to wait (`Retry-After`). */
  readonly retryAfterMs: number | undefined;
  /** True when the failure says we are sending too much (429, APIG.0308, CB.00060211). */
  readonly throttled: boolean;

  constructor(init: {
    kind: FailureKind;
    route: Route;
    status: CodeArtsErrorStatus;
    code?: string | undefined;
    detail: string;
    network?: { host: string; port: number; errno: string | undefined } | undefined;
    retryAfterMs?: number | undefined;
    throttled?: boolean;
    target: string;
    /** The failure underneath (a transport error), kept for logs and debugging. */
    cause?: unknown;
  }) {
    const code = init.code ? ` ${init.code}` : '';
    super(
      `${init.route} ${init.target}: ${init.status}${code} ${init.detail}`.trim(),
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.kind = init.kind;
    this.route = init.route;
    this.target = init.target;
    this.status = init.status;
    this.detail = init.detail;
    this.code = init.code;
    this.host = init.network?.host;
    this.port = init.network?.port;
    this.errno = init.network?.errno;
    this.retryAfterMs = init.retryAfterMs;
    this.throttled = init.throttled ?? false;
  }
}

export function isCodeArtsError(error: unknown): error is CodeArtsError {
  return error instanceof CodeArtsError || (error instanceof Error && error.name === 'CodeArtsError');
}
