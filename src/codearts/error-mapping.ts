import { interpretResponse } from './envelope.js';
import { CodeArtsError, isCodeArtsError, type Route } from './errors.js';
import type { RetryReason } from './events.js';
import type { HttpAnswer, TransportError } from './transport.js';

/**
 * How what came back from one exchange becomes a result or a CodeArtsError (docs/design.md,
 * "Talking to CodeArts"). Pure functions: the client decides what to do with them.
 */

/** Where a failure happened: the route and what was asked for ("job X build 7"). */
export interface CallSite {
  route: Route;
  target: string;
}

/** An HTTP answer: the result, or the failure it says (kind, code, throttling, Retry-After). */
export function readAnswer(
  site: CallSite,
  answer: HttpAnswer,
  notFoundCodes: ReadonlySet<string>,
  nowMs: number,
): { ok: true; result: unknown } | { ok: false; error: CodeArtsError } {
  // These answer in the SDK's bare shape (no envelope); enveloped ones are accepted too.
  const bare = site.route === 'job-list' || site.route === 'job-list-all' || site.route === 'history-details';
  const envelope = interpretResponse(answer.status, answer.text, notFoundCodes, bare);
  if (envelope.ok) return { ok: true, result: envelope.result };
  const { kind, code, detail, throttled } = envelope;
  const retryAfterMs = parseRetryAfter(answer.headers.get('retry-after'), nowMs);
  return { ok: false, error: new CodeArtsError({ ...site, kind, status: answer.status, code, detail, throttled, retryAfterMs }) };
}

/**
 * An exchange without a usable answer. A redirect is a configuration error and an oversized body
 * was an answer (`reachable`: CodeArts is there); timeouts and network errors are transient and
 * count towards the circuit breaker.
 */
export function readTransportFailure(site: CallSite, error: TransportError): { error: CodeArtsError; reachable: boolean } {
  const status = error.status ?? 'network';
  if (error.kind === 'redirect') {
    return {
      reachable: true,
      error: new CodeArtsError({ ...site, kind: 'permanent', status, detail: `${error.message} (codearts.endpoint)`, cause: error }),
    };
  }
  if (error.kind === 'too_large')
    return { reachable: true, error: new CodeArtsError({ ...site, kind: 'transient', status, detail: error.message, cause: error }) };
  const network = { host: error.host, port: error.port, errno: error.errno };
  return {
    reachable: false,
    error: new CodeArtsError({ ...site, kind: 'transient', status: error.kind, detail: error.message, network, cause: error }),
  };
}

/** The `code` label of an attempt that ended without an answer: the HTTP status it did see, or timeout/network. */
export function attemptCode(error: TransportError): string {
  if (error.status !== undefined) return String(error.status);
  return error.kind === 'timeout' ? 'timeout' : 'network';
}

/** Why a call is retried, for `codearts_exporter_api_retries_total{reason}`. */
export function retryReason(error: unknown): RetryReason {
  if (!isCodeArtsError(error)) return 'error';
  if (error.throttled) return 'throttled';
  if (error.status === 'timeout' || error.status === 'network') return error.status;
  if (typeof error.status === 'number' && error.status >= 500) return 'server_error';
  return 'invalid_response';
}

/** `Retry-After` as milliseconds to wait (seconds or an HTTP date), capped at 2 minutes. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds > 0 ? Math.min(seconds * 1000, 120_000) : undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.min(at - nowMs, 120_000));
}

/** `last_build_no` is a string in the SDK model ('' for a job that never ran); a number is accepted too. */
export function parseLastBuildNumber(result: unknown): number | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const raw = (result as { last_build_no?: unknown }).last_build_no;
  if (raw === '' || raw === null) return 0;
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d{1,9}\s*$/.test(raw) ? Number(raw) : Number.NaN;
  return Number.isInteger(value) && value >= 0 ? value : undefined;
}
