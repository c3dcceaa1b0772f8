import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { SelfMetrics } from '../metrics/self-metrics.js';
import { createStaticTokenAuth } from '../codearts/auth/static-token.js';
import type { AuthProvider } from '../codearts/auth/types.js';

/** Picks the auth provider the config asks for. */
export function createAuthProvider(config: Config, _logger: Logger, _self: SelfMetrics): AuthProvider {
  const auth = config.codearts.auth;
  switch (auth.kind) {
    case 'token':
      return createStaticTokenAuth(auth.token);
    default:
      throw new Error(`codearts.auth.${auth.kind} is not wired in yet`);
  }
}
