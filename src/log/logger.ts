import { isatty } from 'node:tty';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import pinoPretty from 'pino-pretty';
import type { LogFormat } from '../config/types.js';
import { maskSecrets } from '../support/redact.js';

export type { Logger } from 'pino';

/** Field names in every log line are snake_case (`job_id`, `build_no`, `jobs_reached`). */
const REDACT_PATHS = [
  'token',
  'password',
  'secret_key',
  'headers["x-auth-token"]',
  'headers.authorization',
  'config.codearts.auth',
  '*.token',
  '*.password',
  '*.secret_key',
];

/**
 * Logs to stdout (or a given stream), written synchronously: a log line written after a commit
 * (the per-build ledger) must survive a SIGKILL, and log volume is small. Credentials never reach
 * the logger by design (they live only in request headers); the redact paths are a second line of
 * defence.
 *
 * `json` (the default): one object per line with `"level":"info"` and an ISO 8601 `time`, the
 * shape Loki, Elasticsearch and Huawei Cloud LTS parse without configuration. `text`: the same
 * lines through pino-pretty, in-process and synchronous, for a terminal.
 */
export function createLogger(level: string, destination?: DestinationStream, format: LogFormat = 'json'): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'codearts-build-exporter' },
    redact: { paths: REDACT_PATHS, censor: '***' },
    serializers: { err: serializeError },
  };
  const target = destination ?? pino.destination({ dest: 1, sync: true });
  // pino tells pino-pretty its errorKey, which pino-pretty prints over several lines; every log
  // call here passes errors as `err` inside an object (serialised above), so naming another key
  // keeps each entry on one line.
  if (format === 'text') return pino({ ...options, errorKey: 'error' }, prettyStream(target));
  return pino(
    {
      ...options,
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    target,
  );
}

/** pino-pretty as a synchronous stream: one human line per entry, fields after the message. */
function prettyStream(destination: DestinationStream): DestinationStream {
  const fd = (destination as { fd?: unknown }).fd;
  return pinoPretty({
    destination,
    sync: true,
    colorize: typeof fd === 'number' && isatty(fd),
    singleLine: true,
    translateTime: "UTC:yyyy-mm-dd'T'HH:MM:ss.l'Z'",
    ignore: 'pid,hostname,service',
    errorLikeObjectKeys: [],
  });
}

/** Our error fields, as snake_case log fields. */
const ERROR_FIELDS: ReadonlyArray<[property: string, field: string]> = [
  ['kind', 'kind'],
  ['status', 'status'],
  ['code', 'code'],
  ['route', 'route'],
  ['endpoint', 'endpoint'],
  ['jobId', 'job_id'],
  ['buildNo', 'build_no'],
  ['issues', 'issues'],
  ['host', 'host'],
  ['port', 'port'],
  ['errno', 'errno'],
];

/**
 * Keeps type, message, our own fields and the cause's type and message (one level: a CodeArtsError
 * names the transport failure under it; URL credentials in a cause's message masked, as it may come
 * from a library); drops request/response/options objects of HTTP errors.
 */
function serializeError(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error)) return error;
  const out: Record<string, unknown> = { type: error.name, message: error.message };
  for (const [property, field] of ERROR_FIELDS) {
    const value = (error as unknown as Record<string, unknown>)[property];
    if (value !== undefined) out[field] = value;
  }
  if (depth > 0) out.message = maskSecrets(error.message, []);
  if (depth === 0 && error.cause instanceof Error && error.cause.message !== error.message) out.cause = serializeError(error.cause, 1);
  return out;
}
