import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { SelfMetrics } from '../metrics/self-metrics.js';
import { createAkskAuth } from '../codearts/auth/aksk.js';
import { createIamAuth } from '../codearts/auth/iam.js';
import { createStaticTokenAuth } from '../codearts/auth/static-token.js';
import type { AuthProvider } from '../codearts/auth/types.js';
import { isTransportError, type HttpTransport } from '../codearts/transport.js';

/** Picks the auth provider the config asks for and connects it to logs and self-metrics. */
export function createAuthProvider(config: Config, logger: Logger, self: SelfMetrics, transport: HttpTransport): AuthProvider {
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
        transport: countingTransport(transport, self),
        onEvent: (event) => {
          self.authRefreshes.inc({ outcome: event.outcome });
          if (event.outcome === 'success' && event.expiresAt !== undefined) self.setAuthTokenExpiry(event.expiresAt / 1000);
        },
      });
    case 'aksk':
      return createAkskAuth({ accessKey: auth.access_key, secretKey: auth.secret_key, projectId: auth.project_id });
  }
}

/** The shared transport, counted in api_requests_total / api_request_duration_seconds as endpoint "iam-token". */
function countingTransport(transport: HttpTransport, self: SelfMetrics): HttpTransport {
  return {
    ...transport,
    send: async (request) => {
      const started = performance.now();
      let code = 'network';
      try {
        const answer = await transport.send(request);
        code = String(answer.status);
        return answer;
      } catch (error) {
        if (isTransportError(error)) code = error.status !== undefined ? String(error.status) : error.kind === 'timeout' ? 'timeout' : 'network';
        throw error;
      } finally {
        self.apiRequests.inc({ endpoint: 'iam-token', code });
        self.apiRequestDuration.observe({ endpoint: 'iam-token' }, (performance.now() - started) / 1000);
      }
    },
  };
}
