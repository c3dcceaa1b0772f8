import { maskSecrets } from '../support/redact.js';

/** What went wrong below HTTP, said without the request's path, query or headers. */
export interface NetworkFailure {
  /** e.g. `connect ECONNREFUSED 127.0.0.1:9`, `getaddrinfo ENOTFOUND api.invalid`. */
  message: string;
  /** System or undici error code: ECONNREFUSED, ENOTFOUND, UND_ERR_SOCKET, SELF_SIGNED_CERT_IN_CHAIN, ... */
  code: string | undefined;
  syscall: string | undefined;
}

interface ErrorLike {
  message?: unknown;
  code?: unknown;
  syscall?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/**
 * Describes a failed fetch from its innermost cause (undici wraps the socket error in
 * `TypeError: fetch failed`). System errors keep Node's own words, which name the address and
 * port; anything else gets the code and the target's host:port. Known secrets are masked.
 */
export function describeNetworkFailure(error: unknown, url: URL, secrets: readonly string[] = []): NetworkFailure {
  const cause = innermost(error);
  const code = typeof cause.code === 'string' ? cause.code : undefined;
  const syscall = typeof cause.syscall === 'string' ? cause.syscall : undefined;
  const text = typeof cause.message === 'string' && cause.message.trim() !== '' ? cause.message.trim() : undefined;
  const target = `${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`;
  let message: string;
  if (syscall && text) message = text;
  else if (code && text) message = `${code}: ${text} (${target})`;
  else if (code) message = `${code} (${target})`;
  else message = `${text ?? 'network error'} (${target})`;
  return { message: maskSecrets(message, secrets), code, syscall };
}

/** The deepest `cause`; an AggregateError (every address of a host refused) stands for its first error. */
function innermost(error: unknown): ErrorLike {
  let current = asErrorLike(error);
  for (let depth = 0; depth < 5; depth++) {
    const errors: unknown = current.errors;
    const next: unknown = Array.isArray(errors) && errors.length > 0 && !current.syscall ? (errors as unknown[])[0] : current.cause;
    if (typeof next !== 'object' || next === null) break;
    current = asErrorLike(next);
  }
  return current;
}

function asErrorLike(value: unknown): ErrorLike {
  return typeof value === 'object' && value !== null ? value : { message: String(value) };
}
