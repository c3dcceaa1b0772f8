import { createHash, randomBytes } from 'node:crypto';

export interface IamUser {
  domain: string;
  user: string;
  password: string;
  /** When set, only this project (by name, or by its id from `projectIdFor`) may be scoped. */
  project?: string;
}

export interface IamIssuerOptions {
  tokenLifetimeSeconds: number;
  users: readonly IamUser[];
  /** Unix seconds (fractions allowed: simulator lifetimes are a few seconds). */
  now: () => number;
}

export interface IamHttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface IamIssuer {
  /** Answers `POST /v3/auth/tokens` for the given request body. */
  handleTokenRequest(bodyText: string): IamHttpAnswer;
  checkToken(token: string): 'valid' | 'expired' | 'unknown';
  /** The project a token is scoped to (name, and id), if the issuer knows the token. */
  tokenProject(token: string): { name: string | undefined; id: string } | undefined;
  /** Invalidates a token early (what a password change does); it then checks as 'unknown'. */
  revoke(token: string): void;
  /** Invalidates every token issued so far; returns how many were still valid. */
  revokeAll(): number;
  /** Tokens issued so far. */
  issuedCount(): number;
}

/** The fake project id the issuer reports for a project name: stable, 32 hex characters. */
export function projectIdFor(projectName: string): string {
  return createHash('sha256').update(`project:${projectName}`).digest('hex').slice(0, 32);
}

// Expired tokens are kept this long so they still check as 'expired' rather than 'unknown'.
const KEEP_EXPIRED_SECONDS = 3600;

/**
 * A framework-free IAM password-token issuer for the simulator (API notes §4.2): 201 with the
 * token in `X-Subject-Token` and `token.expires_at` in the body. The error codes are the
 * simulator's own choice; IAM's exact codes are not documented in our sources.
 */
export function createIamIssuer(options: IamIssuerOptions): IamIssuer {
  if (!(options.tokenLifetimeSeconds > 0)) {
    throw new RangeError(`tokenLifetimeSeconds must be positive, got ${options.tokenLifetimeSeconds}`);
  }
  const tokens = new Map<string, { expiresAt: number; project: { name: string | undefined; id: string } }>();
  let issued = 0;

  const issue = (request: TokenRequest, user: IamUser): IamHttpAnswer => {
    const now = options.now();
    for (const [token, entry] of tokens) if (entry.expiresAt < now - KEEP_EXPIRED_SECONDS) tokens.delete(token);
    const expiresAt = now + options.tokenLifetimeSeconds;
    const token = `MIIS${randomBytes(48).toString('base64url')}`;
    const projectName = request.project.name ?? user.project ?? 'unknown';
    tokens.set(token, { expiresAt, project: { name: request.project.name, id: request.project.id ?? projectIdFor(projectName) } });
    issued += 1;
    return {
      status: 201,
      headers: { 'Content-Type': 'application/json;charset=UTF-8', 'X-Subject-Token': token },
      body: JSON.stringify({
        token: {
          methods: ['password'],
          expires_at: iamTime(expiresAt),
          issued_at: iamTime(now),
          user: { name: user.user, domain: { name: user.domain } },
          project: { name: projectName, id: request.project.id ?? projectIdFor(projectName) },
        },
      }),
    };
  };

  return {
    handleTokenRequest(bodyText) {
      const request = parseTokenRequest(bodyText);
      if (!request) return iamError(400, 'IAM.0011', 'Request body is invalid: expected a password identity and a project scope.');
      const user = options.users.find((u) => u.domain === request.domain && u.user === request.user);
      if (user?.password !== request.password) return iamError(401, 'IAM.0007', 'The username or password is wrong.');
      if (user.project !== undefined) {
        const allowed = request.project.name === user.project || request.project.id === projectIdFor(user.project);
        if (!allowed) return iamError(400, 'IAM.0029', 'The project does not exist or the user has no access to it.');
      }
      return issue(request, user);
    },
    checkToken(token) {
      const entry = tokens.get(token);
      if (!entry) return 'unknown';
      return options.now() < entry.expiresAt ? 'valid' : 'expired';
    },
    tokenProject(token) {
      return tokens.get(token)?.project;
    },
    revoke(token) {
      tokens.delete(token);
    },
    revokeAll() {
      const now = options.now();
      const valid = [...tokens.values()].filter((entry) => now < entry.expiresAt).length;
      tokens.clear();
      return valid;
    },
    issuedCount: () => issued,
  };
}

interface TokenRequest {
  domain: string;
  user: string;
  password: string;
  project: { name?: string; id?: string };
}

function parseTokenRequest(bodyText: string): TokenRequest | undefined {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return undefined;
  }
  const auth = field(body, 'auth');
  const identity = field(auth, 'identity');
  const methods = field(identity, 'methods');
  const user = field(field(identity, 'password'), 'user');
  const name = field(user, 'name');
  const password = field(user, 'password');
  const domain = field(field(user, 'domain'), 'name');
  const project = field(field(auth, 'scope'), 'project');
  const projectName = field(project, 'name');
  const projectId = field(project, 'id');
  if (!Array.isArray(methods) || !methods.includes('password')) return undefined;
  if (typeof name !== 'string' || typeof password !== 'string' || typeof domain !== 'string') return undefined;
  if (typeof projectName !== 'string' && typeof projectId !== 'string') return undefined;
  return {
    domain,
    user: name,
    password,
    project: {
      ...(typeof projectName === 'string' ? { name: projectName } : {}),
      ...(typeof projectId === 'string' ? { id: projectId } : {}),
    },
  };
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function iamError(status: number, code: string, message: string): IamHttpAnswer {
  return {
    status,
    headers: { 'Content-Type': 'application/json;charset=UTF-8' },
    body: JSON.stringify({ error: { code, message, title: status === 401 ? 'Unauthorized' : 'Bad Request' } }),
  };
}

/** IAM's timestamp style: microseconds and a Z, e.g. 2020-01-04T09:05:22.701000Z. */
function iamTime(unixSeconds: number): string {
  return new Date(Math.floor(unixSeconds * 1000)).toISOString().replace(/Z$/, '000Z');
}

/**
 * The token endpoint in the simulator's `token` and `aksk` auth modes: answers a well-formed
 * password request with the one static token, valid 24 h (the `iam` mode uses `createIamIssuer`).
 */
export function answerIamToken(bodyText: string, token: string, nowMs: number): IamHttpAnswer {
  if (!parseTokenRequest(bodyText)) {
    return iamError(400, 'IAM.0011', 'Request body is invalid: expected a password identity and a project scope.');
  }
  const now = nowMs / 1000;
  return {
    status: 201,
    headers: { 'Content-Type': 'application/json;charset=UTF-8', 'X-Subject-Token': token },
    body: JSON.stringify({ token: { methods: ['password'], expires_at: iamTime(now + 86_400), issued_at: iamTime(now) } }),
  };
}
