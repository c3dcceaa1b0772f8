import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * JSON logs to stdout (or a given stream), written synchronously: a log line written after a
 * commit (the per-build ledger) must survive a SIGKILL, and log volume is small. Credentials never reach the logger by design (they live
 * only in request headers); the redact paths are a second line of defence.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'codearts-build-exporter' },
      redact: {
        paths: [
          'token',
          'password',
          'secret_key',
          'headers["x-auth-token"]',
          'headers.authorization',
          'config.codearts.auth',
          '*.token',
          '*.password',
          '*.secret_key',
        ],
        censor: '***',
      },
      serializers: { err: serializeError },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** Keeps type, message and our own fields; drops request/response/options objects of HTTP errors. */
function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const out: Record<string, unknown> = { type: error.name, message: error.message };
  for (const key of ['kind', 'status', 'code', 'endpoint', 'jobId', 'buildNo', 'issues', 'host', 'port', 'errno'] as const) {
    const value = (error as unknown as Record<string, unknown>)[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}
