import { systemClock, type Clock } from '../../support/clock.js';
import { signRequest } from './aksk-signer.js';
import type { AuthProvider } from './types.js';

export interface AkskAuthOptions {
  accessKey: string;
  secretKey: string;
  /** IAM project id sent (and signed) as `X-Project-Id`; optional for CodeArts Build. */
  projectId?: string | undefined;
  /** Signing dates. @default systemClock */
  clock?: Clock;
}

/**
 * Signs every request with `SDK-HMAC-SHA256`. A signature cannot be refreshed, so a 401 is final:
 * onUnauthorized answers false and the caller reports a permanent auth error.
 */
export function createAkskAuth(options: AkskAuthOptions): AuthProvider {
  const { accessKey, secretKey, projectId } = options;
  if (!accessKey.trim()) throw new TypeError('AK/SK auth needs a non-empty access key');
  if (!secretKey.trim()) throw new TypeError('AK/SK auth needs a non-empty secret key');
  const clock = options.clock ?? systemClock;
  const now = (): Date => new Date(clock.now());
  const credentials = { accessKey, secretKey };
  const description = `AK/SK signing (access key ${maskAccessKey(accessKey)})`;

  return {
    authorize: (request) => {
      if (!projectId) return Promise.resolve(signRequest(request, credentials, now()));
      const headers = { ...request.headers, 'x-project-id': projectId };
      return Promise.resolve({ 'X-Project-Id': projectId, ...signRequest({ ...request, headers }, credentials, now()) });
    },
    onUnauthorized: () => Promise.resolve(false),
    describe: () => description,
  };
}

/** At most the last 4 characters, and none of a key too short for that to be a small part of it. */
function maskAccessKey(accessKey: string): string {
  return accessKey.length >= 12 ? `…${accessKey.slice(-4)}` : '…';
}
