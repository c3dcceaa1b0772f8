import type { AuthProvider } from '../codearts/auth/types.js';
import { CodeArtsClient } from '../codearts/client.js';
import type { CodeArtsEvent } from '../codearts/events.js';
import { createHttpTransport, type HttpTransport } from '../codearts/transport.js';
import type { Config } from '../config/schema.js';
import type { Events } from '../support/events.js';

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

/** The CodeArts client as the config describes it, reporting attempts, retries and circuit changes through `events`. */
export function createClient(
  config: Config,
  wiring: { auth: AuthProvider; transport: HttpTransport; events: Events<CodeArtsEvent>; periodSeconds: number },
): CodeArtsClient {
  const { codearts } = config;
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
    events: wiring.events,
  });
}
