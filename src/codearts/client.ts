import pLimit, { type LimitFunction } from 'p-limit';
import pRetry, { AbortError } from 'p-retry';
import type { BuildRecord } from '../domain/build.js';
import { systemClock, type Clock } from '../support/clock.js';
import type { AuthProvider } from './auth/types.js';
import { NO_EVENTS, type Events } from '../support/events.js';
import { CircuitBreaker } from './circuit-breaker.js';
import {
  checkListingRequest,
  formatListingTime,
  InvalidListingError,
  parseBuildListing,
  type BuildListingPage,
  type ListingPageRequest,
  type ListingWindow,
} from './build-listing.js';
import { notFoundCodeSet } from './envelope.js';
import { attemptCode, parseLastBuildNumber, readAnswer, readTransportFailure, retryReason, type CallSite } from './error-mapping.js';
import { CodeArtsError, isCodeArtsError, type Route } from './errors.js';
import type { CodeArtsEvent } from './events.js';
import { FEED_PAGE_SIZE, parseFeedPage, type ListedJob } from './job-feed.js';
import { JOB_PAGE_SIZE, parseJobPage, readAllPages, type JobListing, type Listing } from './job-list.js';
import { parseRecord } from './record.js';
import { RequestBudget } from './request-budget.js';
import { InvalidStagesError, parseFullStages, parseHistorySteps } from './stages.js';
import { InvalidAnalysisError, parseAnalysis } from './analysis.js';
import type { FailureCause } from '../domain/failures.js';
import type { StepObservation } from '../domain/steps.js';
import { createHttpTransport, isTransportError, type HttpTransport } from './transport.js';

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
  /** Shared with IAM (proxy, CA bundle, body cap). @default a direct transport with a 1 MiB body cap */
  transport?: HttpTransport;
  /** Consecutive attempts without an HTTP answer that open the circuit; 0 never opens it. @default 10 */
  breakerThreshold?: number;
  /** Attempts, retries and circuit changes. */
  events?: Events<CodeArtsEvent>;
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
  private readonly events: Events<CodeArtsEvent>;

  constructor(private readonly options: CodeArtsClientOptions) {
    this.clock = options.clock ?? systemClock;
    this.events = options.events ?? NO_EVENTS;
    this.limit = pLimit(options.maxConcurrency);
    this.budget = new RequestBudget(options.maxRequestsPerSecond, undefined, this.clock);
    this.notFoundCodes = notFoundCodeSet(options.notFoundCodes);
    this.transport =
      options.transport ??
      createHttpTransport({ requestTimeoutMs: options.requestTimeoutMs, maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES });
    this.breaker = new CircuitBreaker(options.breakerThreshold ?? DEFAULT_BREAKER_THRESHOLD, this.events);
  }

  /** Fetches one build record; `found: false` when CodeArts says the build does not exist. */
  async getRecord(jobId: string, buildNo: number, signal?: AbortSignal): Promise<RecordLookup> {
    const path =
      this.options.recordApi === 'v4'
        ? `/v4/jobs/${encodeURIComponent(jobId)}/${buildNo}/record-info`
        : `/v1/record/${encodeURIComponent(jobId)}/${buildNo}/record-info`;
    const result = await this.call({ route: 'record-info', target: `job ${jobId} build ${buildNo}` }, path, signal);
    if (result instanceof NotFound) return { found: false };
    return { found: true, record: parseRecord(jobId, buildNo, result) };
  }

  /**
   * A build's steps from `ShowBuildRecordFullStages` (`GET /v1/record/{build_record_id}/full-stages`);
   * undefined when CodeArts says the record does not exist. An empty list: the map was empty.
   */
  async getFullStages(recordId: string, signal?: AbortSignal): Promise<StepObservation[] | undefined> {
    const site: CallSite = { route: 'full-stages', target: `record ${recordId}` };
    const result = await this.call(site, `/v1/record/${encodeURIComponent(recordId)}/full-stages?cascade=true`, signal);
    return result instanceof NotFound ? undefined : readSteps(site, () => parseFullStages(result));
  }

  /** A build's steps from `ShowHistoryDetails` (`GET /v3/jobs/{job_id}/{build_no}/history-details`), the fallback. */
  async getHistorySteps(jobId: string, buildNo: number, signal?: AbortSignal): Promise<StepObservation[] | undefined> {
    const site: CallSite = { route: 'history-details', target: `job ${jobId} build ${buildNo}` };
    const result = await this.call(site, `/v3/jobs/${encodeURIComponent(jobId)}/${buildNo}/history-details`, signal);
    return result instanceof NotFound ? undefined : readSteps(site, () => parseHistorySteps(result));
  }

  /** A failed build's causes from ShowLogAnalysis (`GET /v1/log/{job_id}/{build_no}/analysis`); undefined when not found. */
  async getLogAnalysis(jobId: string, buildNo: number, signal?: AbortSignal): Promise<FailureCause[] | undefined> {
    const site: CallSite = { route: 'log-analysis', target: `job ${jobId} build ${buildNo}` };
    const result = await this.call(site, `/v1/log/${encodeURIComponent(jobId)}/${buildNo}/analysis`, signal);
    return result instanceof NotFound ? undefined : readDetail(site, () => parseAnalysis(result));
  }

  /**
   * The job's newest build number from `running-status` (a hint: confirm it with record-info), 0
   * when the job has never run. Throws a CodeArtsError when the endpoint gives no usable answer
   * (unpublished route, no permission, 5xx, a malformed body). Not retried: a hint is optional, and
   * the caller falls back to probing.
   */
  async getLastBuildNumber(jobId: string, signal?: AbortSignal): Promise<number> {
    const site: CallSite = { route: 'running-status', target: `job ${jobId}` };
    const result = await this.call(site, `/v1/job/${encodeURIComponent(jobId)}/running-status`, signal, 0);
    if (result instanceof NotFound) throw new CodeArtsError({ ...site, kind: 'not_found', status: 404, detail: 'job not found' });
    const value = parseLastBuildNumber(result);
    if (value === undefined)
      throw new CodeArtsError({
        ...site,
        kind: 'permanent',
        status: 200,
        detail: 'unexpected running-status answer (no usable last_build_no)',
      });
    return value;
  }

  /**
   * Every build job of a CodeArts project (`GET /v1/job/{project_id}/list`, 0-based pages of 100),
   * in the SDK's bare shape or enveloped; `incomplete` says why a listing stopped short of `total`.
   */
  async listJobs(projectId: string, signal?: AbortSignal): Promise<JobListing> {
    return readAllPages(async (page) => {
      const path = `/v1/job/${encodeURIComponent(projectId)}/list?page_index=${page}&page_size=${JOB_PAGE_SIZE}`;
      const site: CallSite = { route: 'job-list', target: `project ${projectId} page ${page}` };
      const result = await this.call(site, path, signal);
      const parsed = result instanceof NotFound ? { problem: 'project not found' } : parseJobPage(result);
      if ('problem' in parsed) throw new CodeArtsError({ ...site, kind: 'permanent', status: 200, detail: parsed.problem });
      return parsed;
    });
  }

  /**
   * Every job the caller can see, with its newest build (`GET /v1/job/list`, ListJob; 0-based
   * pages of 100): the first page, then the pages its total needs at once. Enveloped or bare. A
   * page that fails fails the listing (a CodeArtsError): the caller falls back to probing each job.
   */
  async listAllJobs(signal?: AbortSignal): Promise<Listing<ListedJob> & { pages: number; unreadable: number }> {
    let pages = 0;
    let unreadable = 0;
    const listing = await readAllPages(
      async (page) => {
        pages += 1;
        const site: CallSite = { route: 'job-list-all', target: `page ${page}` };
        const result = await this.call(site, `/v1/job/list?page_index=${page}&page_size=${FEED_PAGE_SIZE}`, signal);
        if (result instanceof NotFound)
          throw new CodeArtsError({ ...site, kind: 'permanent', status: 404, detail: 'answered "does not exist"' });
        const parsed = parseFeedPage(result);
        if ('problem' in parsed) throw new CodeArtsError({ ...site, kind: 'permanent', status: 200, detail: parsed.problem });
        unreadable += parsed.unreadable;
        return parsed;
      },
      { parallel: true },
    );
    return { ...listing, pages, unreadable };
  }

  /**
   * One page of the builds of a job that started within `window`, newest first
   * (ListBuildInfoRecordByJobId, `GET /v1/record/{job_id}/list`; how it is read:
   * src/codearts/build-listing.ts). A window or page CodeArts would refuse throws before anything
   * is sent (ListingWindowTooLongError, RangeError); a failed call throws a CodeArtsError, of
   * kind `not_found` when the job does not exist (classifyListingFailure tells what each means).
   */
  async listBuilds(jobId: string, window: ListingWindow, page: ListingPageRequest, signal?: AbortSignal): Promise<BuildListingPage> {
    checkListingRequest(window, page);
    const query = new URLSearchParams({
      start_time: formatListingTime(window.fromMs),
      end_time: formatListingTime(window.toMs),
      page_index: String(page.index),
      page_size: String(page.size),
    });
    // The space in the times as %20: `+` for a space is a form convention a gateway may not share.
    const path = `/v1/record/${encodeURIComponent(jobId)}/list?${query.toString().replaceAll('+', '%20')}`;
    const site: CallSite = { route: 'record-list', target: `job ${jobId} page ${page.index}` };
    const result = await this.call(site, path, signal);
    if (result instanceof NotFound) throw result.error;
    return readDetail(site, () => parseBuildListing(jobId, result));
  }

  /** The request budget's current rate (test/integration/rate-budget.test.ts samples it during a 429 storm). */
  currentRate(): number {
    return this.budget.currentRate();
  }

  /** A poll cycle starts: an open circuit turns half-open, so the cycle's first call probes CodeArts. */
  beginCycle(): void {
    this.breaker.beginCycle();
  }

  private async call(site: CallSite, path: string, signal?: AbortSignal, retries?: number): Promise<unknown> {
    const { retry, maxRetryTimeMs } = this.options;
    return pRetry(
      async () => {
        try {
          return await this.attempt(site, path, signal);
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
        shouldRetry: ({ error, attemptNumber }) => this.shouldRetry(site.route, error, attemptNumber, signal),
      },
    );
  }

  private async shouldRetry(route: Route, error: unknown, attempt: number, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return false;
    // CodeArts unreachable: this call fails now instead of waiting out more timeouts.
    if (this.breaker.current() === 'open') return false;
    const retryAfterMs = isCodeArtsError(error) ? error.retryAfterMs : undefined;
    this.events.emit({ type: 'api_retry', route, reason: retryReason(error), attempt, ...(retryAfterMs ? { delayMs: retryAfterMs } : {}) });
    // Honour Retry-After on top of the backoff p-retry adds next.
    if (retryAfterMs) await this.clock.sleep(Math.min(retryAfterMs, this.options.maxRetryTimeMs), signal).catch(() => undefined);
    return true;
  }

  /** One HTTP exchange (plus one immediate replay after a successful credential refresh on 401). */
  private async attempt(site: CallSite, path: string, signal?: AbortSignal): Promise<unknown> {
    let refreshed = false;
    for (;;) {
      const outcome = await this.admitted(site, path, signal);
      if (outcome.kind === 'ok') {
        this.budget.reward();
        return outcome.result;
      }
      const error = outcome.error;
      if (error.throttled) this.budget.penalize();
      if (error.kind === 'not_found') return new NotFound(error);
      if (error.kind !== 'unauthorized') throw error;
      if (refreshed || !(await this.options.auth.onUnauthorized(outcome.sentHeaders, signal))) throw this.explainRejection(error);
      refreshed = true;
    }
  }

  /**
   * The exchange once a connection slot is free, the circuit lets it through and the budget has
   * room. The budget is taken right before sending: taken earlier, requests queued behind slow
   * answers would all go out at once when the slots free up.
   */
  private admitted(site: CallSite, path: string, signal?: AbortSignal): Promise<ExchangeOutcome> {
    return this.limit(async () => {
      const ticket = await this.breaker.admit();
      if (ticket === 'refuse') return this.refused(site);
      await this.budget.acquire(signal).catch((error: unknown) => {
        if (ticket === 'probe') this.breaker.onInconclusive();
        throw error;
      });
      return this.exchange(site, path, ticket === 'probe', signal);
    });
  }

  private refused(site: CallSite): ExchangeOutcome {
    const error = new CodeArtsError({ ...site, kind: 'permanent', status: 'circuit_open', detail: this.breaker.reason() });
    return { kind: 'error', sentHeaders: {}, error };
  }

  /** A 401 that fresh credentials did not (or would not) cure: say what is probably wrong. */
  private explainRejection(error: CodeArtsError): CodeArtsError {
    const hint = this.options.auth.rejectionHint?.();
    if (!hint) return error;
    const { kind, route, status, code, detail, target } = error;
    return new CodeArtsError({ kind, route, status, code, detail: `${detail}; ${hint}`, target, cause: error });
  }

  private async exchange(site: CallSite, path: string, probe: boolean, signal?: AbortSignal): Promise<ExchangeOutcome> {
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
      return {
        kind: 'error',
        sentHeaders: {},
        error: new CodeArtsError({ ...site, kind: 'permanent', status: 'auth', detail, cause: error }),
      };
    }
    return this.send(site, url, { ...baseHeaders, ...authHeaders }, probe, signal);
  }

  private async send(
    site: CallSite,
    url: URL,
    headers: Record<string, string>,
    probe: boolean,
    signal?: AbortSignal,
  ): Promise<ExchangeOutcome> {
    const started = this.clock.monotonic();
    let code = 'network';
    try {
      const answer = await this.transport.send({ method: 'GET', url, headers, signal });
      code = String(answer.status);
      this.breaker.onAnswer();
      if (answer.status !== 401) this.options.auth.onAccepted?.(headers);
      const read = readAnswer(site, answer, this.notFoundCodes, this.clock.now());
      return read.ok ? { kind: 'ok', result: read.result } : { kind: 'error', sentHeaders: headers, error: read.error };
    } catch (error) {
      if (signal?.aborted || !isTransportError(error)) {
        if (probe) this.breaker.onInconclusive();
        throw signal?.aborted ? signal.reason : error;
      }
      code = attemptCode(error);
      const failure = readTransportFailure(site, error);
      if (failure.reachable) this.breaker.onAnswer();
      else this.breaker.onNetworkFailure(error.message);
      return { kind: 'error', sentHeaders: headers, error: failure.error };
    } finally {
      this.events.emit({ type: 'api_request', route: site.route, code, seconds: (this.clock.monotonic() - started) / 1000 });
    }
  }
}

function readSteps(site: CallSite, parse: () => StepObservation[]): StepObservation[] {
  return readDetail(site, parse);
}

/** A detail answer parsed; one that does not fit its model is a permanent failure of that call. */
function readDetail<T>(site: CallSite, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof InvalidStagesError || error instanceof InvalidAnalysisError || error instanceof InvalidListingError))
      throw error;
    throw new CodeArtsError({ ...site, kind: 'permanent', status: 200, detail: error.message, cause: error });
  }
}

type ExchangeOutcome = { kind: 'ok'; result: unknown } | { kind: 'error'; error: CodeArtsError; sentHeaders: Record<string, string> };

/** CodeArts said what was asked for does not exist; `error` is how it said so. */
class NotFound {
  constructor(readonly error: CodeArtsError) {}
}
