import { systemClock, type Clock } from '../../support/clock.js';
import { maskSecrets } from '../../support/redact.js';
import { errorFields, parseJsonBody } from '../error-body.js';
import { attemptCode } from '../error-mapping.js';
import { withSignal } from '../../support/abort.js';
import { NO_EVENTS, type Events } from '../../support/events.js';
import type { CodeArtsEvent, IamIdentity } from '../events.js';
import { describeNetworkFailure } from '../network-errors.js';
import { createHttpTransport, isTransportError, type HttpAnswer, type HttpTransport } from '../transport.js';
import { findHeader } from './aksk-signer.js';
import type { AuthProvider, SignableRequest } from './types.js';

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
  /** Token requests (counted as route `iam-token`), tokens obtained, failures and refused refreshes. */
  events?: Events<CodeArtsEvent>;
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
  const auth = new IamAuth(options);
  // A record of functions, as every provider is, so a decorator may spread it.
  return {
    authorize: (request, signal) => auth.authorize(request, signal),
    onUnauthorized: (rejected, signal) => auth.onUnauthorized(rejected, signal),
    onAccepted: (sent) => auth.onAccepted(sent),
    rejectionHint: () => auth.rejectionHint(),
    describe: () => auth.describe(),
    expiresAt: () => auth.expiresAt(),
  };
}

class IamAuth {
  private readonly iam: IamIdentity;
  private readonly clock: Clock;
  private readonly transport: HttpTransport;
  private readonly events: Events<CodeArtsEvent>;
  private readonly requestBody: string;
  private current: Token | undefined;
  private inflight: Promise<Token> | undefined;
  private failures = 0;
  private retryAt = 0;
  private lastError: IamAuthError | undefined;
  private lastRejectionLogin = -Infinity;
  private everAccepted = false;

  constructor(private readonly options: IamAuthOptions) {
    const { domain, user, password, project, projectId } = options;
    this.iam = { endpoint: validate(options), user, domain };
    this.clock = options.clock ?? systemClock;
    this.events = options.events ?? NO_EVENTS;
    this.transport =
      options.transport ?? createHttpTransport({ requestTimeoutMs: options.requestTimeoutMs ?? 10_000, maxResponseBytes: 1024 * 1024 });
    this.requestBody = JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: user, password, domain: { name: domain } } } },
        scope: { project: project ? { name: project } : { id: projectId } },
      },
    });
  }

  async authorize(_request: SignableRequest, signal?: AbortSignal): Promise<Record<string, string>> {
    const token = this.usableToken() ?? (await withSignal(this.refresh(), signal));
    return { 'X-Auth-Token': token.value };
  }

  async onUnauthorized(rejected: Record<string, string>, signal?: AbortSignal): Promise<boolean> {
    const value = findHeader(rejected, 'x-auth-token');
    const current = this.current;
    if (!value || !current) return false;
    // Another caller already replaced it: just retry with the new one.
    if (current.value !== value) return true;
    // Already being replaced because of a 401: wait for the same new token.
    if (current.revoked) {
      await withSignal(this.refresh(), signal);
      return true;
    }
    const now = this.clock.now();
    const neverAccepted = !this.everAccepted && now - current.obtainedAt < REJECTED_TOKEN_HOLD_MS;
    if (neverAccepted || now - this.lastRejectionLogin < REJECTED_TOKEN_HOLD_MS) {
      this.events.emit({ type: 'iam_token', outcome: 'rejected', iam: this.iam });
      return false;
    }
    this.lastRejectionLogin = now;
    current.revoked = true;
    await withSignal(this.refresh(), signal);
    return true;
  }

  onAccepted(sent: Record<string, string>): void {
    if (!this.everAccepted && findHeader(sent, 'x-auth-token')) this.everAccepted = true;
  }

  rejectionHint(): string {
    const { user, project, projectId } = this.options;
    return (
      `CodeArts refuses the IAM token of user '${user}' (project ${project ? `'${project}'` : `id ${projectId}`}): ` +
      'check that the token scope (codearts.auth.iam.project / project_id) is the project of codearts.region and of ' +
      `codearts.endpoint, and that the user has CodeArts Build permissions; no new token is requested for ${REJECTED_TOKEN_HOLD_MS / 1000} s`
    );
  }

  describe(): string {
    return `IAM password token (user '${this.iam.user}' in domain '${this.iam.domain}' via ${this.iam.endpoint})`;
  }

  expiresAt(): number | undefined {
    return this.current?.expiresAt;
  }

  /** The current token if it may still be handed out; starts a background refresh when due. */
  private usableToken(): Token | undefined {
    const current = this.current;
    if (!current || current.revoked) return undefined;
    const now = this.clock.now();
    const { soft, hard } = refreshMargins(current.lifetimeMs, this.options.refreshBeforeMs ?? 7_200_000);
    if (now >= current.expiresAt - hard) return undefined;
    if (now >= current.expiresAt - soft) this.refresh().catch(() => undefined);
    return current;
  }

  private refresh(): Promise<Token> {
    if (this.inflight) return this.inflight;
    if (this.lastError && this.clock.now() < this.retryAt) return Promise.reject(this.lastError);
    this.inflight = this.requestToken()
      .then(
        (token) => this.obtained(token),
        (error: unknown) => {
          throw this.failed(error);
        },
      )
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  private obtained(token: Token): Token {
    this.current = token;
    this.failures = 0;
    this.lastError = undefined;
    this.events.emit({ type: 'iam_token', outcome: 'success', iam: this.iam, expiresAt: token.expiresAt });
    return token;
  }

  private failed(error: unknown): IamAuthError {
    const iamError = isIamAuthError(error) ? error : this.fail('network', String(error), undefined, error);
    this.failures += 1;
    const retryInMs = Math.min(
      this.options.maxFailureBackoffMs ?? 60_000,
      (this.options.failureBackoffMs ?? 5_000) * 2 ** (this.failures - 1),
    );
    this.retryAt = this.clock.now() + retryInMs;
    this.lastError = iamError;
    this.events.emit({ type: 'iam_token', outcome: 'failure', iam: this.iam, error: iamError, retryInMs });
    return iamError;
  }

  private fail(status: IamAuthError['status'], detail: string, code?: string, cause?: unknown): IamAuthError {
    return new IamAuthError({ ...this.iam, status, code, detail: maskSecrets(detail, [this.options.password]), cause });
  }

  private async requestToken(): Promise<Token> {
    const sentAt = this.clock.now();
    const answer = await this.post();
    if (answer.status !== 201 && answer.status !== 200) {
      const { code, message } = describeErrorBody(answer.text);
      throw this.fail(answer.status, message || 'no details', code);
    }
    const value = answer.headers.get('x-subject-token');
    if (!value) throw this.fail('invalid_response', `HTTP ${answer.status} without an X-Subject-Token header`);
    const times = parseTimes(answer.text);
    if (!times) throw this.fail('invalid_response', `HTTP ${answer.status} without a valid token.expires_at`);
    // Anchor the lifetime to our clock when IAM says when it issued the token: a skewed local clock
    // then neither keeps a dead token nor throws away a fresh one.
    const lifetimeMs = times.issuedAt === undefined ? times.expiresAt - sentAt : times.expiresAt - times.issuedAt;
    const expiresAt = times.issuedAt === undefined ? times.expiresAt : sentAt + lifetimeMs;
    if (!(lifetimeMs > 0) || expiresAt <= this.clock.now()) {
      throw this.fail('invalid_response', `token expires_at ${new Date(times.expiresAt).toISOString()} is already past`);
    }
    return { value, expiresAt, lifetimeMs, revoked: false, obtainedAt: this.clock.now() };
  }

  /** The token request, counted as an `iam-token` attempt; a transport failure becomes an IamAuthError. */
  private async post(): Promise<HttpAnswer> {
    this.events.emit({ type: 'iam_token_requested', iam: this.iam });
    const started = this.clock.monotonic();
    let code = 'network';
    try {
      const answer = await this.transport.send({
        method: 'POST',
        url: new URL(`${this.iam.endpoint}?nocatalog=true`),
        headers: { 'content-type': 'application/json;charset=utf8', accept: 'application/json' },
        body: this.requestBody,
      });
      code = String(answer.status);
      return answer;
    } catch (error) {
      if (!isTransportError(error))
        throw this.fail('network', describeNetworkFailure(error, new URL(this.iam.endpoint)).message, undefined, error);
      code = attemptCode(error);
      if (error.kind === 'redirect')
        throw this.fail(error.status ?? 'network', `${error.message} (codearts.auth.iam.endpoint)`, undefined, error);
      if (error.kind === 'too_large') throw this.fail('invalid_response', error.message, undefined, error);
      throw this.fail(error.kind, error.message, undefined, error);
    } finally {
      this.events.emit({ type: 'api_request', route: 'iam-token', code, seconds: (this.clock.monotonic() - started) / 1000 });
    }
  }
}

function validate(options: IamAuthOptions): string {
  for (const key of ['domain', 'user', 'password'] as const) {
    if (!options[key].trim()) throw new TypeError(`IAM auth needs a non-empty ${key}`);
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
