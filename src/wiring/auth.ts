import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { SelfMetrics } from '../metrics/self-metrics.js';
import { createAkskAuth } from '../codearts/auth/aksk.js';
import { createIamAuth } from '../codearts/auth/iam.js';
import { createStaticTokenAuth } from '../codearts/auth/static-token.js';
import type { AuthProvider } from '../codearts/auth/types.js';

/** Picks the auth provider the config asks for and connects it to logs and self-metrics. */
export function createAuthProvider(config: Config, logger: Logger, self: SelfMetrics): AuthProvider {
  const auth = config.codearts.auth;
  switch (auth.kind) {
    case 'token':
      return createStaticTokenAuth(auth.token);
    case 'iam':
      return createIamAuth({
        endpoint: auth.endpoint,
        domain: auth.domain,
        user: auth.user,
        password: auth.password,
        project: auth.project,
        projectId: auth.project_id,
        requestTimeoutMs: config.codearts.request_timeout_ms,
        logger: logger.child({ component: 'iam-auth' }),
        fetchImpl: countingFetch(self),
        onEvent: (event) => {
          self.authRefreshes.inc({ outcome: event.outcome });
          if (event.outcome === 'success' && event.expiresAt !== undefined) self.setAuthTokenExpiry(event.expiresAt / 1000);
        },
      });
    case 'aksk':
      return createAkskAuth({ accessKey: auth.access_key, secretKey: auth.secret_key, projectId: auth.project_id });
  }
}

/** fetch for the IAM provider, counted in api_requests_total / api_request_duration_seconds as endpoint "iam-token". */
function countingFetch(self: SelfMetrics): typeof fetch {
  return async (input, init) => {
    const started = performance.now();
    let code = 'network';
    try {
      const response = await fetch(input, init);
      code = String(response.status);
      return response;
    } catch (error) {
      if (error instanceof Error && error.name === 'TimeoutError') code = 'timeout';
      throw error;
    } finally {
      self.apiRequests.inc({ endpoint: 'iam-token', code });
      self.apiRequestDuration.observe({ endpoint: 'iam-token' }, (performance.now() - started) / 1000);
    }
  };
}
