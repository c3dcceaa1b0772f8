import type { AuthProvider } from '../codearts/auth/types.js';
import { CodeArtsClient } from '../codearts/client.js';
import { createHttpTransport, type HttpTransport } from '../codearts/transport.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { SelfMetrics } from '../metrics/self-metrics.js';

/** The HTTP path CodeArts and IAM share: proxy, CA bundle, whole-exchange timeout, body cap. */
export function createTransport(config: Config): HttpTransport {
  const { codearts } = config;
  return createHttpTransport({
    requestTimeoutMs: codearts.request_timeout_ms,
    maxResponseBytes: codearts.max_response_bytes,
    proxy: codearts.proxy,
    caFile: codearts.ca_file,
  });
}

/** The CodeArts client, its attempts counted in self-metrics and its circuit breaker logged once per change. */
export function createClient(
  config: Config,
  wiring: { auth: AuthProvider; transport: HttpTransport; self: SelfMetrics; logger: Logger; periodSeconds: number },
): CodeArtsClient {
  const { codearts } = config;
  const { self, logger } = wiring;
  return new CodeArtsClient({
    endpoint: codearts.endpoint,
    recordApi: codearts.record_api,
    auth: wiring.auth,
    transport: wiring.transport,
    requestTimeoutMs: codearts.request_timeout_ms,
    maxConcurrency: codearts.max_concurrency,
    maxRequestsPerSecond: codearts.max_requests_per_second,
    retry: { retries: codearts.retry.retries, minDelayMs: codearts.retry.min_delay_ms, maxDelayMs: codearts.retry.max_delay_ms },
    // Retries of one request stay well inside the poll period.
    maxRetryTimeMs: Math.max(1000, wiring.periodSeconds * 500),
    notFoundCodes: codearts.not_found_codes,
    breakerThreshold: codearts.breaker_failures,
    breakerEvents: {
      onChange: ({ state, failures, lastError }) => {
        self.circuitOpen.set(state === 'closed' ? 0 : 1);
        if (state === 'open') {
          logger.error(
            { circuit: state, failures, err: lastError, endpoint: codearts.endpoint },
            'CodeArts unreachable: circuit open; calls fail without being sent until the next cycle probes',
          );
        } else if (state === 'closed') {
          logger.info({ circuit: state, endpoint: codearts.endpoint }, 'CodeArts reachable again: circuit closed');
        } else {
          logger.debug({ circuit: state }, 'circuit half-open: the next call probes CodeArts');
        }
      },
    },
    observer: {
      onAttempt: ({ endpoint, code, seconds }) => {
        self.apiRequests.inc({ endpoint, code });
        self.apiRequestDuration.observe({ endpoint }, seconds);
      },
      onRetry: ({ endpoint, reason }) => self.apiRetries.inc({ endpoint, reason }),
    },
  });
}
