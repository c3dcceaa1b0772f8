import { isPlainObject } from '../support/objects.js';
import { errorFields, parseJsonBody } from './error-body.js';
import type { FailureKind } from './errors.js';

/** Codes that mean "does not exist" by default; `codearts.not_found_codes` extends them. */
export const DEFAULT_NOT_FOUND_CODES = ['DEVCB.00031006', 'CB.00031006', 'CB.00031059'] as const;

/** The codes that mean "does not exist": the defaults plus `codearts.not_found_codes`. */
export function notFoundCodeSet(extra: readonly string[]): ReadonlySet<string> {
  return new Set([...DEFAULT_NOT_FOUND_CODES, ...extra]);
}

/** Codes the gateway or the service use for "too many requests" or "busy, retry later". */
const THROTTLE_CODES = new Set(['APIG.0308', 'APIGW.0308', 'CB.00060211']);
const BUSY_CODES = new Set(['CB.00060100']);
/** The route is not published in this region: a configuration problem, not a missing build. */
const ROUTE_NOT_FOUND = 'APIGW.0101';

export type Envelope =
  { ok: true; result: unknown } | { ok: false; kind: FailureKind; code: string | undefined; detail: string; throttled: boolean };

/**
 * Interprets a CodeArts response (status + body text) per docs/design.md ("Talking to CodeArts"). `bareResult`: the endpoint may
 * answer without an envelope (the SDK's ListProjectJobsResponse is a bare `{ total, jobs }`), so a
 * successful body without `result` is the result itself.
 */
export function interpretResponse(status: number, bodyText: string, notFoundCodes: ReadonlySet<string>, bareResult = false): Envelope {
  const body = parseJsonBody(bodyText);
  const { code, message } = errorFields(body);
  const detail = message ? truncate(message) : '';

  if (code && THROTTLE_CODES.has(code)) return failure('transient', code, detail || 'throttled', true);
  if (status === 429) return failure('transient', code, detail || 'too many requests', true);
  if (code && BUSY_CODES.has(code)) return failure('transient', code, detail || 'service busy');
  if (code && notFoundCodes.has(code) && status < 500) return failure('not_found', code, detail);
  if (status === 404) {
    if (code === ROUTE_NOT_FOUND)
      return failure('permanent', code, detail || 'route not published in this region; check codearts.endpoint');
    if (code && isServiceCode(code)) return failure('not_found', code, detail);
    // A proxy's error page, a wrong base path, a gateway that is not Huawei's: nothing says the build is missing.
    return failure(
      'permanent',
      code,
      `${describeForeign404(bodyText, body, code, detail)}; not a CodeArts answer: check codearts.endpoint (and any proxy)`,
    );
  }
  if (status === 401) return failure('unauthorized', code, detail || 'unauthorized');
  if (status === 408 || status >= 500) return failure('transient', code, detail || `HTTP ${status}`);
  if (status >= 400) return failure('permanent', code, detail || `HTTP ${status}`);
  if (status < 200 || status >= 300) return failure('transient', code, `unexpected HTTP ${status}`);

  if (body === undefined) return failure('transient', undefined, 'malformed JSON body');
  if (!isPlainObject(body)) return failure('transient', code, 'response body is not an object');
  if (code || (body.error !== null && body.error !== undefined)) return failure('permanent', code, detail || 'error in body');
  if (body.status !== undefined && body.status !== 'success')
    return failure('permanent', code, truncate(`status ${JSON.stringify(body.status)}`));
  if (body.success === false) return failure('permanent', code, 'success: false');
  if (!('result' in body) || body.result === null || body.result === undefined) {
    if (bareResult && !('result' in body)) return { ok: true, result: body };
    return failure('transient', undefined, 'response has no result');
  }
  return { ok: true, result: body.result };
}

/**
 * A CodeArts service error code (`CB.00060214`, `DEVCB.00031006`, `DEV.CB.032302`): only such a
 * code in a JSON error body makes a 404 mean "does not exist". Gateway codes (APIGW./APIG.) do not.
 */
function isServiceCode(code: string): boolean {
  return /^(DEV\.?)?CB\.\d+$/i.test(code);
}

function describeForeign404(bodyText: string, body: unknown, code: string | undefined, detail: string): string {
  if (!bodyText.trim()) return 'HTTP 404 with an empty body';
  // Never quoted: a hostile page could echo our headers back.
  if (body === undefined) return `HTTP 404 with a non-JSON body of ${bodyText.length} characters (an HTML error page?)`;
  if (code) return `HTTP 404 with gateway code ${code}${detail ? ` (${detail})` : ''}`;
  return 'HTTP 404 with a JSON body that has no CodeArts error code';
}

function failure(kind: FailureKind, code: string | undefined, detail: string, throttled = false): Envelope {
  return { ok: false, kind, code, detail, throttled };
}

function truncate(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
