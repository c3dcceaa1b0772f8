import pLimit, { type LimitFunction } from 'p-limit';
import pRetry, { AbortError } from 'p-retry';
import type { BuildRecord } from '../domain/build.js';
import { systemClock, type Clock } from '../support/clock.js';
import type { AuthProvider } from './auth/types.js';
import { CircuitBreaker, type BreakerEvents } from './circuit-breaker.js';
import { interpretResponse, notFoundCodeSet } from './envelope.js';
import { CodeArtsError, isCodeArtsError, type Endpoint } from './errors.js';
import { JOB_PAGE_SIZE, parseJobPage, readAllPages, type JobListing } from './job-list.js';
import { parseRecord } from './record.js';
import { RequestBudget } from './request-budget.js';
import { createHttpTransport, isTransportError, type HttpTransport, type TransportError } from './transport.js';

/** Told about every HTTP attempt, so the composition root can count them in self-metrics. */
export interface RequestObserver {
  onAttempt(event: { endpoint: Endpoint; code: string; seconds: number }): void;
  onRetry(event: { endpoint: Endpoint; reason: string; attempt: number; delayMs?: number }): void;
}

export interface CodeArtsClientOptions {
  /** Base URL without a trailing slash, e.g. https://cloudbuild-ext.cn-north-4.myhuaweicloud.com */
  endpoint: string;
  recordApi: 'v4' | 'v1';
  auth: AuthProvider;
  requestTimeoutMs: number;
  maxConcurrency: number;
  maxRequestsPerSecond: number;
  retry: { retries: number; minDelayMs: number; maxDelayMs: number };
  /** Upper bound for one call including all its retries; keep it well inside the poll period. */
  maxRetryTimeMs: number;
  /** Codes that mean "does not exist" besides DEFAULT_NOT_FOUND_CODES (`codearts.not_found_codes`). */
  notFoundCodes: readonly string[];
  observer?: RequestObserver;
  /** Shared with IAM (proxy, CA bundle, body cap). @default a direct transport with a 1 MiB body cap */
  transport?: HttpTransport;
  /** Consecutive attempts without an HTTP answer that open the circuit; 0 never opens it. @default 10 */
  breakerThreshold?: number;
  breakerEvents?: BreakerEvents;
  /** Request budget, Retry-After waits and dates. @default systemClock */
  clock?: Clock;
}

/** `codearts.max_response_bytes` default: a record is a few KB, a job-list page of 100 jobs about 50 KB. */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
export const DEFAULT_BREAKER_THRESHOLD = 10;

export type RecordLookup = { found: true; record: BuildRecord } | { found: false };

/** The only code that speaks HTTP to CodeArts Build (through the shared transport). One retry layer: p-retry. */
export class CodeArtsClient {
  private readonly limit: LimitFunction;
  private readonly budget: RequestBudget;
  private readonly notFoundCodes: ReadonlySet<string>;
  private readonly transport: HttpTransport;
  private readonly breaker: CircuitBreaker;
  private readonly clock: Clock;

  constructor(private readonly options: CodeArtsClientOptions) {
    this.clock = options.clock ?? systemClock;
    this.limit = pLimit(options.maxConcurrency);
    this.budget = new RequestBudget(options.maxRequestsPerSecond, undefined, this.clock);
    this.notFoundCodes = notFoundCodeSet(options.notFoundCodes);
    this.transport =
      options.transport ?? createHttpTransport({ requestTimeoutMs: options.requestTimeoutMs, maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES });
    this.breaker = new CircuitBreaker(options.breakerThreshold ?? DEFAULT_BREAKER_THRESHOLD, options.breakerEvents);
  }

  /** Fetches one build record; `found: false` when CodeArts says the build does not exist. */
  async getRecord(jobId: string, buildNo: number, signal?: AbortSignal): Promise<RecordLookup> {
    const path =
      this.options.recordApi === 'v4'
        ? `/v4/jobs/${encodeURIComponent(jobId)}/${buildNo}/record-info`
        : `/v1/record/${encodeURIComponent(jobId)}/${buildNo}/record-info`;
    const result = await this.call('record-info', path, `job ${jobId} build ${buildNo}`, signal);
    if (result === NOT_FOUND) return { found: false };
    return { found: true, record: parseRecord(jobId, buildNo, result) };
  }

  /**
   * The job's newest build number from `running-status` (a hint: confirm it with record-info), 0
   * when the job has never run. Throws a CodeArtsError when the endpoint gives no usable answer
   * (unpublished route, no permission, 5xx, a malformed body). Not retried: a hint is optional, and
   * the caller falls back to probing.
   */
  async getLastBuildNumber(jobId: string, signal?: AbortSignal): Promise<number> {
    const target = `job ${jobId}`;
    const result = await this.call('running-status', `/v1/job/${encodeURIComponent(jobId)}/running-status`, target, signal, 0);
    const fail = (detail: string) => new CodeArtsError({ kind: 'permanent', endpoint: 'running-status', status: 200, detail, target });
    if (result === NOT_FOUND) throw new CodeArtsError({ kind: 'not_found', endpoint: 'running-status', status: 404, detail: 'job not found', target });
    const value = parseLastBuildNumber(result);
    if (value === undefined) throw fail('unexpected running-status answer (no usable last_build_no)');
    return value;
  }

  /**
   * Every build job of a CodeArts project (`GET /v1/job/{project_id}/list`, 0-based pages of 100),
   * in the SDK's bare shape or enveloped; `incomplete` says why a listing stopped short of `total`.
   */
  async listJobs(projectId: string, signal?: AbortSignal): Promise<JobListing> {
    return readAllPages(async (page) => {
      const path = `/v1/job/${encodeURIComponent(projectId)}/list?page_index=${page}&page_size=${JOB_PAGE_SIZE}`;
      const target = `project ${projectId} page ${page}`;
      const result = await this.call('job-list', path, target, signal);
      const parsed = result === NOT_FOUND ? { problem: 'project not found' } : parseJobPage(result);
      if ('problem' in parsed) throw new CodeArtsError({ kind: 'permanent', endpoint: 'job-list', status: 200, detail: parsed.problem, target });
      return parsed;
    });
  }

  /** The request budget's current rate, for tests and the landing page. */
  currentRate(): number {
    return this.budget.currentRate();
  }

  /** A poll cycle starts: an open circuit turns half-open, so the cycle's first call probes CodeArts. */
  beginCycle(): void {
    this.breaker.beginCycle();
  }

  breakerState(): ReturnType<CircuitBreaker['current']> {
    return this.breaker.current();
  }

  /** Proxy in use (credentials masked) or "direct", for the start-up log line. */
  describeTransport(): string {
    return this.transport.describe();
  }

  private async call(endpoint: Endpoint, path: string, target: string, signal?: AbortSignal, retries?: number): Promise<unknown> {
    const { retry, maxRetryTimeMs, observer } = this.options;
    return pRetry(
      async () => {
        try {
          return await this.attempt(endpoint, path, target, signal);
        } catch (error) {
          if (isCodeArtsError(error) && error.kind !== 'transient') throw new AbortError(error);
          throw error;
        }
      },
      {
        retries: retries ?? retry.retries,
        minTimeout: retry.minDelayMs,
        maxTimeout: retry.maxDelayMs,
        factor: 2,
        randomize: true,
        maxRetryTime: maxRetryTimeMs,
        ...(signal ? { signal } : {}),
        shouldRetry: async ({ error, attemptNumber }) => {
          if (signal?.aborted) return false;
          // CodeArts unreachable: this call fails now instead of waiting out more timeouts.
          if (this.breaker.current() === 'open') return false;
          const retryAfterMs = isCodeArtsError(error) ? error.retryAfterMs : undefined;
          observer?.onRetry({ endpoint, reason: retryReason(error), attempt: attemptNumber, ...(retryAfterMs ? { delayMs: retryAfterMs } : {}) });
          // Honour Retry-After on top of the backoff p-retry adds next.
          if (retryAfterMs) await this.clock.sleep(Math.min(retryAfterMs, maxRetryTimeMs), signal).catch(() => undefined);
          return true;
        },
      },
    );
  }

  /** One HTTP exchange (plus one immediate replay after a successful credential refresh on 401). */
  private async attempt(endpoint: Endpoint, path: string, target: string, signal?: AbortSignal): Promise<unknown> {
    let refreshed = false;
    for (;;) {
      // The budget is taken once a connection slot is free, right before sending: taken earlier,
      // requests queued behind slow answers would all go out at once when the slots free up.
      const outcome = await this.limit(async () => {
        const ticket = await this.breaker.admit();
        if (ticket === 'refuse') return this.refused(endpoint, target);
        await this.budget.acquire(signal).catch((error: unknown) => {
          if (ticket === 'probe') this.breaker.onInconclusive();
          throw error;
        });
        return this.exchange(endpoint, path, target, ticket === 'probe', signal);
      });
      if (outcome.kind === 'ok') {
        this.budget.reward();
        return outcome.result;
      }
      const error = outcome.error;
      if (error.throttled) this.budget.penalize();
      if (error.kind === 'not_found') return NOT_FOUND;
      if (error.kind === 'unauthorized') {
        if (!refreshed && (await this.options.auth.onUnauthorized(outcome.sentHeaders, signal))) {
          refreshed = true;
          continue;
        }
        throw this.explainRejection(error, target);
      }
      throw error;
    }
  }

  private refused(endpoint: Endpoint, target: string): ExchangeOutcome {
    const error = new CodeArtsError({ kind: 'permanent', endpoint, status: 'circuit_open', detail: this.breaker.reason(), target });
    return { kind: 'error', sentHeaders: {}, error };
  }

  /** A 401 that fresh credentials did not (or would not) cure: say what is probably wrong. */
  private explainRejection(error: CodeArtsError, target: string): CodeArtsError {
    const hint = this.options.auth.rejectionHint?.();
    if (!hint) return error;
    return new CodeArtsError({ kind: 'unauthorized', endpoint: error.endpoint, status: error.status, code: error.code, detail: `${error.detail}; ${hint}`, target });
  }

  private async exchange(endpoint: Endpoint, path: string, target: string, probe: boolean, signal?: AbortSignal): Promise<ExchangeOutcome> {
    const url = new URL(this.options.endpoint + path);
    const baseHeaders: Record<string, string> = { accept: 'application/json', host: url.host };
    let authHeaders: Record<string, string>;
    try {
      authHeaders = await this.options.auth.authorize({ method: 'GET', url, headers: baseHeaders }, signal);
    } catch (error) {
      if (probe) this.breaker.onInconclusive();
      if (signal?.aborted) throw signal.reason;
      // No credentials (IAM down or refusing): fail this job for the cycle; the provider backs off.
      const detail = error instanceof Error ? error.message : 'credentials unavailable';
      return { kind: 'error', sentHeaders: {}, error: new CodeArtsError({ kind: 'permanent', endpoint, status: 'auth', detail, target }) };
    }
    const headers = { ...baseHeaders, ...authHeaders };
    const started = this.clock.monotonic();
    let code = 'network';
    try {
      const answer = await this.transport.send({ method: 'GET', url, headers, signal });
      code = String(answer.status);
      this.breaker.onAnswer();
      if (answer.status !== 401) this.options.auth.onAccepted?.(headers);
      const envelope = interpretResponse(answer.status, answer.text, this.notFoundCodes, endpoint === 'job-list');
      if (envelope.ok) return { kind: 'ok', result: envelope.result };
      const { kind, code: errorCode, detail, throttled } = envelope;
      const retryAfterMs = parseRetryAfter(answer.headers.get('retry-after'), this.clock.now());
      const error = new CodeArtsError({ kind, endpoint, status: answer.status, code: errorCode, detail, throttled, retryAfterMs, target });
      return { kind: 'error', sentHeaders: headers, error };
    } catch (error) {
      if (signal?.aborted) {
        if (probe) this.breaker.onInconclusive();
        throw signal.reason;
      }
      if (!isTransportError(error)) {
        if (probe) this.breaker.onInconclusive();
        throw error;
      }
      code = error.status !== undefined ? String(error.status) : error.kind === 'timeout' ? 'timeout' : 'network';
      return { kind: 'error', sentHeaders: headers, error: this.transportFailure(error, endpoint, target) };
    } finally {
      this.options.observer?.onAttempt({ endpoint, code, seconds: (this.clock.monotonic() - started) / 1000 });
    }
  }

  /** Redirects are a configuration error; an oversized body was an answer; the rest count towards the circuit. */
  private transportFailure(error: TransportError, endpoint: Endpoint, target: string): CodeArtsError {
    if (error.kind === 'redirect') {
      this.breaker.onAnswer();
      return new CodeArtsError({ kind: 'permanent', endpoint, status: error.status ?? 'network', detail: `${error.message} (codearts.endpoint)`, target });
    }
    if (error.kind === 'too_large') {
      this.breaker.onAnswer();
      return new CodeArtsError({ kind: 'transient', endpoint, status: error.status ?? 'network', detail: error.message, target });
    }
    this.breaker.onNetworkFailure(error.message);
    const network = { host: error.host, port: error.port, errno: error.errno };
    return new CodeArtsError({ kind: 'transient', endpoint, status: error.kind, detail: error.message, target, network });
  }
}

type ExchangeOutcome = { kind: 'ok'; result: unknown } | { kind: 'error'; error: CodeArtsError; sentHeaders: Record<string, string> };

const NOT_FOUND = Symbol('not found');

/** `last_build_no` is a string in the SDK model ('' for a job that never ran); a number is accepted too. */
function parseLastBuildNumber(result: unknown): number | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const raw = (result as { last_build_no?: unknown }).last_build_no;
  if (raw === '' || raw === null) return 0;
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d{1,9}\s*$/.test(raw) ? Number(raw) : Number.NaN;
  return Number.isInteger(value) && value >= 0 ? value : undefined;
}

function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds > 0 ? Math.min(seconds * 1000, 120_000) : undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.min(at - nowMs, 120_000));
}

function retryReason(error: unknown): string {
  if (!isCodeArtsError(error)) return 'error';
  if (error.throttled) return 'throttled';
  if (error.status === 'timeout' || error.status === 'network') return error.status;
  if (typeof error.status === 'number' && error.status >= 500) return 'server_error';
  return 'invalid_response';
}
