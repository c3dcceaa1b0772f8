import type { AuthProvider } from './types.js';

/** A project-scoped IAM token pasted into the config; it cannot be refreshed. */
export function createStaticTokenAuth(token: string): AuthProvider {
  return {
    authorize: () => Promise.resolve({ 'X-Auth-Token': token }),
    onUnauthorized: () => Promise.resolve(false),
    describe: () => 'static token',
  };
}
