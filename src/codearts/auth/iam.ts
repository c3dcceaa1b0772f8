import { systemClock, type Clock } from '../../support/clock.js';
import { maskSecrets } from '../../support/redact.js';
import { errorFields, parseJsonBody } from '../error-body.js';
import { describeNetworkFailure } from '../network-errors.js';
import { createHttpTransport, isTransportError, type HttpTransport } from '../transport.js';
import type { AuthLogger, AuthProvider } from './types.js';

export interface IamAuthOptions {
  /** IAM base URL, e.g. https://iam.cn-north-4.myhuaweicloud.com (no path). */
  endpoint: string;
  /** Account (domain) name. */
  domain: string;
  user: string;
  password: string;
  /** Project scope by name (usually the region, e.g. cn-north-4); exactly one of project / projectId. */
  project?: string | undefined;
  projectId?: string | undefined;
  /** Upper bound of the refresh-ahead window; see `refreshMargins`. @default 7_200_000 (2 h) */
  refreshBeforeMs?: number;
  /** Timeout of the default transport. @default 10_000 */
  requestTimeoutMs?: number;
  /** Wait after a failed token request before the next one; doubles per failure. @default 5_000 */
  failureBackoffMs?: number;
  /** @default 60_000 */
  maxFailureBackoffMs?: number;
  /** Token lifetimes and back-off. @default systemClock */
  clock?: Clock;
  /** The HTTP path shared with the CodeArts client (proxy, CA bundle). @default a direct transport */
  transport?: HttpTransport;
  /** For self-metrics: `codearts_exporter_auth_refreshes_total{outcome}` and the expiry gauge. */
  onEvent?: (event: IamAuthEvent) => void;
  logger?: AuthLogger;
}

export interface IamAuthEvent {
  type: 'refresh';
  /** rejected: CodeArts answered 401 and no new token was requested (see REJECTED_TOKEN_HOLD_MS). */
  outcome: 'success' | 'failure' | 'rejected';
  /** Unix milliseconds, on success. */
  expiresAt?: number;
  /** The failure's message, on failure (never contains the password). */
  error?: string;
}

export interface IamAuthProvider extends AuthProvider {
  /** Unix milliseconds at which the current token expires (on our clock), if we have one. */
  expiresAt(): number | undefined;
}

/**
 * A token request that failed. The message names the IAM URL, user and domain, never the password.
 */
export class IamAuthError extends Error {
  override readonly name = 'IamAuthError';
  /** The token URL that was called. */
  readonly endpoint: string;
  readonly user: string;
  readonly domain: string;
  /** HTTP status, or 'timeout' / 'network' / 'invalid_response'. */
  readonly status: number | 'timeout' | 'network' | 'invalid_response';
  /** IAM error code such as IAM.0007, when the body had one. */
  readonly code: string | undefined;

  constructor(init: {
    endpoint: string;
    user: string;
    domain: string;
    status: IamAuthError['status'];
    code?: string | undefined;
    detail: string;
    cause?: unknown;
  }) {
    const what = typeof init.status === 'number' ? `HTTP ${init.status}${init.code ? ` ${init.code}` : ''}` : init.status;
    super(
      `IAM token request to ${init.endpoint} for user '${init.user}' in domain '${init.domain}' failed: ${what}: ${init.detail}`,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.endpoint = init.endpoint;
    this.user = init.user;
    this.domain = init.domain;
    this.status = init.status;
    this.code = init.code;
  }
}

export function isIamAuthError(error: unknown): error is IamAuthError {
  return error instanceof IamAuthError || (error instanceof Error && error.name === 'IamAuthError');
}

/**
 * When to replace a token with `lifetimeMs` of validity:
 * - `soft`: once less than min(refreshBeforeMs, lifetime / 3) remains, a background refresh starts
 *   and callers keep the current token meanwhile (a 24 h token: 2 h before expiry; a 3 s simulator
 *   token: 1 s before). An IAM outage inside this window costs nothing.
 * - `hard`: once less than min(30 s, lifetime / 10) remains, the token is not handed out any more;
 *   callers wait for the new one, so no request leaves with a token about to lapse in flight.
 */
export function refreshMargins(lifetimeMs: number, refreshBeforeMs: number): { soft: number; hard: number } {
  return { soft: Math.min(refreshBeforeMs, lifetimeMs / 3), hard: Math.min(30_000, lifetimeMs / 10) };
}

interface Token {
  value: string;
  /** Unix ms on our clock. */
  expiresAt: number;
  lifetimeMs: number;
  revoked: boolean;
  /** When we received it (our clock). */
  obtainedAt: number;
}

/**
 * A 401 asks IAM for nothing when, within this long, there was a 401-driven login already, or the
 * last login while CodeArts has never accepted any of our tokens: a fresh token that is refused
 * (wrong project scope or region, missing permissions) would be refused again, and every call
 * would cost a password login. A revoked token (CodeArts accepted earlier ones) is replaced at once.
 */
export const REJECTED_TOKEN_HOLD_MS = 60_000;

/**
 * IAM password-token auth (API notes §4.2) with refresh ahead of expiry and on 401. One token
 * request at a time: every caller that needs a new token awaits the same one.
 */
export function createIamAuth(options: IamAuthOptions): IamAuthProvider {
  const { domain, user, password, project, projectId, logger } = options;
  const tokenUrl = validate(options);
  const refreshBeforeMs = options.refreshBeforeMs ?? 7_200_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const failureBackoffMs = options.failureBackoffMs ?? 5_000;
  const maxFailureBackoffMs = options.maxFailureBackoffMs ?? 60_000;
  const clock = options.clock ?? systemClock;
  const nowMs = (): number => clock.now();
  const transport = options.transport ?? createHttpTransport({ requestTimeoutMs, maxResponseBytes: 1024 * 1024 });
  const who = { endpoint: tokenUrl, user, domain };
  const requestBody = JSON.stringify({
    auth: {
      identity: { methods: ['password'], password: { user: { name: user, password, domain: { name: domain } } } },
      scope: { project: project ? { name: project } : { id: projectId } },
    },
  });

  let current: Token | undefined;
  let inflight: Promise<Token> | undefined;
  let failures = 0;
  let retryAt = 0;
  let lastError: IamAuthError | undefined;
  let lastRejectionLogin = -Infinity;
  let everAccepted = false;

  const fail = (status: IamAuthError['status'], detail: string, code?: string, cause?: unknown): IamAuthError =>
    new IamAuthError({ ...who, status, code, detail: maskSecrets(detail, [password]), cause });

  const requestToken = async (): Promise<Token> => {
    const sentAt = nowMs();
    logger?.debug({ ...who }, 'requesting iam token');
    let response: { status: number; headers: Headers; text: string };
    try {
      response = await transport.send({
        method: 'POST',
        url: new URL(`${tokenUrl}?nocatalog=true`),
        headers: { 'content-type': 'application/json;charset=utf8', accept: 'application/json' },
        body: requestBody,
      });
    } catch (error) {
      if (!isTransportError(error)) throw fail('network', describeNetworkFailure(error, new URL(tokenUrl)).message, undefined, error);
      if (error.kind === 'redirect') throw fail(error.status ?? 'network', `${error.message} (codearts.auth.iam.endpoint)`, undefined, error);
      if (error.kind === 'too_large') throw fail('invalid_response', error.message, undefined, error);
      throw fail(error.kind, error.message, undefined, error);
    }
    const text = response.text;
    if (response.status !== 201 && response.status !== 200) {
      const { code, message } = describeErrorBody(text);
      throw fail(response.status, message || 'no details', code);
    }
    const value = response.headers.get('x-subject-token');
    if (!value) throw fail('invalid_response', `HTTP ${response.status} without an X-Subject-Token header`);
    const times = parseTimes(text);
    if (!times) throw fail('invalid_response', `HTTP ${response.status} without a valid token.expires_at`);
    // Anchor the lifetime to our clock when IAM says when it issued the token: a skewed local clock
    // then neither keeps a dead token nor throws away a fresh one.
    const lifetimeMs = times.issuedAt === undefined ? times.expiresAt - sentAt : times.expiresAt - times.issuedAt;
    const expiresAt = times.issuedAt === undefined ? times.expiresAt : sentAt + lifetimeMs;
    if (!(lifetimeMs > 0) || expiresAt <= nowMs()) {
      throw fail('invalid_response', `token expires_at ${new Date(times.expiresAt).toISOString()} is already past`);
    }
    return { value, expiresAt, lifetimeMs, revoked: false, obtainedAt: nowMs() };
  };

  const refresh = (): Promise<Token> => {
    if (inflight) return inflight;
    if (lastError && nowMs() < retryAt) return Promise.reject(lastError);
    inflight = requestToken()
      .then(
        (token) => {
          current = token;
          failures = 0;
          lastError = undefined;
          logger?.info({ ...who, expires_at: new Date(token.expiresAt).toISOString() }, 'iam token obtained');
          options.onEvent?.({ type: 'refresh', outcome: 'success', expiresAt: token.expiresAt });
          return token;
        },
        (error: unknown) => {
          const iamError = isIamAuthError(error) ? error : fail('network', String(error), undefined, error);
          failures += 1;
          const delayMs = Math.min(maxFailureBackoffMs, failureBackoffMs * 2 ** (failures - 1));
          retryAt = nowMs() + delayMs;
          lastError = iamError;
          logger?.warn({ ...who, err: iamError.message, retry_in_ms: delayMs }, 'iam token request failed');
          options.onEvent?.({ type: 'refresh', outcome: 'failure', error: iamError.message });
          throw iamError;
        },
      )
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };

  /** The current token if it may still be handed out; starts a background refresh when due. */
  const usableToken = (): Token | undefined => {
    if (!current || current.revoked) return undefined;
    const now = nowMs();
    const { soft, hard } = refreshMargins(current.lifetimeMs, refreshBeforeMs);
    if (now >= current.expiresAt - hard) return undefined;
    if (now >= current.expiresAt - soft) refresh().catch(() => undefined);
    return current;
  };

  return {
    authorize: async (_request, signal) => {
      const token = usableToken() ?? (await withSignal(refresh(), signal));
      return { 'X-Auth-Token': token.value };
    },
    onUnauthorized: async (rejected, signal) => {
      const value = headerValue(rejected, 'x-auth-token');
      if (!value || !current) return false;
      // Another caller already replaced it: just retry with the new one.
      if (current.value !== value) return true;
      // Already being replaced because of a 401: wait for the same new token.
      if (current.revoked) {
        await withSignal(refresh(), signal);
        return true;
      }
      const now = nowMs();
      const neverAccepted = !everAccepted && now - current.obtainedAt < REJECTED_TOKEN_HOLD_MS;
      if (neverAccepted || now - lastRejectionLogin < REJECTED_TOKEN_HOLD_MS) {
        options.onEvent?.({ type: 'refresh', outcome: 'rejected' });
        return false;
      }
      lastRejectionLogin = now;
      current.revoked = true;
      await withSignal(refresh(), signal);
      return true;
    },
    onAccepted: (sent) => {
      if (!everAccepted && headerValue(sent, 'x-auth-token')) everAccepted = true;
    },
    rejectionHint: () =>
      `CodeArts refuses the IAM token of user '${user}' (project ${project ? `'${project}'` : `id ${projectId}`}): ` +
      'check that the token scope (codearts.auth.iam.project / project_id) is the project of codearts.region and of ' +
      `codearts.endpoint, and that the user has CodeArts Build permissions; no new token is requested for ${REJECTED_TOKEN_HOLD_MS / 1000} s`,
    describe: () => `IAM password token (user '${user}' in domain '${domain}' via ${tokenUrl})`,
    expiresAt: () => current?.expiresAt,
  };
}

function validate(options: IamAuthOptions): string {
  for (const key of ['domain', 'user', 'password'] as const) {
    if (!options[key]?.trim()) throw new TypeError(`IAM auth needs a non-empty ${key}`);
  }
  if (Boolean(options.project) === Boolean(options.projectId)) {
    throw new TypeError('IAM auth needs exactly one of project or projectId');
  }
  let url: URL;
  try {
    url = new URL(options.endpoint);
  } catch {
    throw new TypeError(`IAM endpoint is not a URL: '${options.endpoint}'`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError(`IAM endpoint must be http(s): '${options.endpoint}'`);
  }
  return `${options.endpoint.replace(/\/+$/, '')}/v3/auth/tokens`;
}

function parseTimes(text: string): { expiresAt: number; issuedAt: number | undefined } | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  const token = (body as { token?: { expires_at?: unknown; issued_at?: unknown } } | null)?.token;
  const expiresAt = typeof token?.expires_at === 'string' ? Date.parse(token.expires_at) : Number.NaN;
  if (Number.isNaN(expiresAt)) return undefined;
  const issuedAt = typeof token?.issued_at === 'string' ? Date.parse(token.issued_at) : Number.NaN;
  return { expiresAt, issuedAt: Number.isNaN(issuedAt) ? undefined : issuedAt };
}

/** The code and message of an IAM error body; anything that is not one is quoted, shortened. */
function describeErrorBody(text: string): { code: string | undefined; message: string } {
  const { code, message } = errorFields(parseJsonBody(text));
  return { code, message: (message ?? text.replace(/\s+/g, ' ').trim()).slice(0, 200) };
}

function headerValue(headers: Record<string, string>, lowerName: string): string | undefined {
  for (const [name, value] of Object.entries(headers)) if (name.toLowerCase() === lowerName) return value;
  return undefined;
}

/** Lets one caller stop waiting without cancelling the refresh the others share. */
function withSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
