import type { IncomingMessage } from 'node:http';
import { verifySignedRequest } from './aksk-verify.js';
import { answerIamToken, createIamIssuer, projectIdFor } from './iam.js';
import { respondError, respondUnauthorized, type SimResponse } from './responses.js';
import type { SimAuthOptions } from './types.js';

export type AuthResult = { ok: true } | { ok: false; status: number; body: string };

/** Decides whether a CodeArts request may proceed; `body` is the request body as received. */
export type AuthCheck = (req: IncomingMessage, body: string) => AuthResult;

/** The simulator's API Gateway + IAM: token issuing and the credential check of every CodeArts route. */
export interface Gateway {
  check: AuthCheck;
  /** Answers POST /v3/auth/tokens. */
  answerIam(body: string): SimResponse;
  /** Whether `check` needs request bodies (signatures cover them). */
  readonly needsBody: boolean;
  revokeTokens(): number;
}

/**
 * @param staticToken the accepted token in `token` mode
 * @param nowSeconds real Unix seconds as the gateway sees them (tests may shift it)
 */
export function createGateway(auth: SimAuthOptions, staticToken: string, nowSeconds: () => number): Gateway {
  switch (auth.mode) {
    case 'token':
      return {
        check: createTokenAuth(staticToken),
        answerIam: (body) => answerIamToken(body, staticToken, nowSeconds() * 1000),
        needsBody: false,
        revokeTokens: () => {
          throw new Error('revokeTokens() needs the simulator in iam auth mode');
        },
      };
    case 'iam': {
      const issuer = createIamIssuer({ tokenLifetimeSeconds: auth.tokenLifetimeSeconds, users: auth.users, now: nowSeconds });
      return {
        check: (req) => {
          const token = req.headers['x-auth-token'];
          const state = typeof token === 'string' ? issuer.checkToken(token) : 'unknown';
          if (state === 'valid' && !inScope(issuer.tokenProject(token as string), auth.codeartsProject)) {
            return refuse(
              respondError(401, 'APIGW.0301', 'Incorrect IAM authentication information: The token is not valid for this project.'),
            );
          }
          if (state === 'valid') return { ok: true };
          // The gateway's words for an expired token (API notes §4.2); anything else is just wrong.
          const detail = state === 'expired' ? 'The token must be updated.' : 'The token is invalid.';
          return refuse(respondError(401, 'APIGW.0301', `Incorrect IAM authentication information: ${detail}`));
        },
        answerIam: (body) => issuer.handleTokenRequest(body),
        needsBody: false,
        revokeTokens: () => issuer.revokeAll(),
      };
    }
    case 'aksk':
      return {
        check: (req, body) => {
          const [path, query] = splitOnce(req.url ?? '/', '?');
          const result = verifySignedRequest(
            { method: req.method ?? 'GET', path, query, headers: req.headers, ...(body ? { body } : {}) },
            { keys: auth.keys, now: nowSeconds },
          );
          return result.ok ? result : refuse(respondError(result.status, result.code, result.message));
        },
        answerIam: (body) => answerIamToken(body, staticToken, nowSeconds() * 1000),
        needsBody: true,
        revokeTokens: () => {
          throw new Error('revokeTokens() needs the simulator in iam auth mode');
        },
      };
  }
}

/** Accepts exactly one static X-Auth-Token; anything else gets the gateway's 401. */
export function createTokenAuth(token: string): AuthCheck {
  return (req) => {
    if (req.headers['x-auth-token'] === token) return { ok: true };
    return refuse(respondUnauthorized());
  };
}

/** Whether a token's project scope is the one CodeArts serves (any, when none is set). */
function inScope(project: { name: string | undefined; id: string } | undefined, served: string | undefined): boolean {
  if (served === undefined) return true;
  return project !== undefined && (project.name === served || project.id === projectIdFor(served));
}

function refuse(response: SimResponse): AuthResult {
  return { ok: false, status: response.status, body: response.body };
}

function splitOnce(value: string, separator: string): [string, string] {
  const at = value.indexOf(separator);
  return at < 0 ? [value, ''] : [value.slice(0, at), value.slice(at + 1)];
}
