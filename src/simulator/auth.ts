import type { IncomingMessage } from 'node:http';
import { respondUnauthorized } from './responses.js';

export type AuthResult = { ok: true } | { ok: false; status: number; body: string };

/**
 * Decides whether a request may proceed. Kept behind this one function type so IAM-issued tokens
 * and AK/SK signature checks can be added here without touching the routes.
 */
export type AuthCheck = (req: IncomingMessage) => AuthResult;

/** Accepts exactly one static X-Auth-Token; anything else gets the gateway's 401. */
export function createTokenAuth(token: string): AuthCheck {
  return (req) => {
    if (req.headers['x-auth-token'] === token) return { ok: true };
    const { status, body } = respondUnauthorized();
    return { ok: false, status, body };
  };
}
