import type { IamAuthError } from './auth/iam.js';
import type { BreakerState } from './circuit-breaker.js';
import type { Route } from './errors.js';

/** The IAM user a token is for (never the password). */
export interface IamIdentity {
  /** The token URL. */
  endpoint: string;
  user: string;
  domain: string;
}

/** What the CodeArts client, its circuit breaker and IAM auth report (see src/support/events.ts). */
export type CodeArtsEvent =
  /** One HTTP attempt: its HTTP status, or timeout/network when no answer came. */
  | { type: 'api_request'; route: Route | 'iam-token'; code: string; seconds: number }
  | { type: 'api_retry'; route: Route; reason: RetryReason; attempt: number; delayMs?: number }
  /** The circuit breaker changed state (once per transition). */
  | { type: 'circuit'; state: BreakerState; failures: number; lastError?: string }
  | { type: 'iam_token_requested'; iam: IamIdentity }
  | { type: 'iam_token'; outcome: 'success'; iam: IamIdentity; expiresAt: number }
  | { type: 'iam_token'; outcome: 'failure'; iam: IamIdentity; error: IamAuthError; retryInMs: number }
  /** CodeArts answered 401 and no new token was requested (see REJECTED_TOKEN_HOLD_MS). */
  | { type: 'iam_token'; outcome: 'rejected'; iam: IamIdentity };

export type RetryReason = 'throttled' | 'timeout' | 'network' | 'server_error' | 'invalid_response' | 'error';

export type IamTokenEvent = Extract<CodeArtsEvent, { type: 'iam_token' }>;
