/**
 * How a failed CodeArts call is handled (docs/design.md, "Talking to CodeArts"):
 * - `not_found`: the build does not exist (the forward probe's stop signal); never retried.
 * - `transient`: network, timeout, throttling, 5xx, malformed bodies; retried with backoff.
 * - `unauthorized`: 401; the auth provider may refresh once.
 * - `permanent`: any other 4xx; not retried this cycle.
 */
export type FailureKind = 'not_found' | 'transient' | 'unauthorized' | 'permanent';

export type Endpoint = 'record-info' | 'running-status' | 'job-list';

export type CodeArtsErrorStatus = number | 'timeout' | 'network' | 'auth' | 'circuit_open';

/** A CodeArts call that did not return a usable result. Messages never contain credentials. */
export class CodeArtsError extends Error {
  override readonly name = 'CodeArtsError';
  readonly kind: FailureKind;
  readonly endpoint: Endpoint;
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
    endpoint: Endpoint;
    status: CodeArtsErrorStatus;
    code?: string | undefined;
    detail: string;
    network?: { host: string; port: number; errno: string | undefined } | undefined;
    retryAfterMs?: number | undefined;
    throttled?: boolean;
    target: string;
  }) {
    const code = init.code ? ` ${init.code}` : '';
    super(`${init.endpoint} ${init.target}: ${init.status}${code} ${init.detail}`.trim());
    this.kind = init.kind;
    this.endpoint = init.endpoint;
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
