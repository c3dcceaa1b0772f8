/** Allowed values and defaults the config schema is built from. Plain data; the Config type itself is inferred from the schema. */

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** json: one JSON object per line (log shippers); text: human-readable lines (a terminal). */
export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const DEFAULT_DURATION_BUCKETS = [30, 60, 120, 300, 600, 900, 1800, 3600, 7200] as const;
export const DEFAULT_QUEUE_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800] as const;
export const DEFAULT_REGION = 'cn-north-4';
export const DEFAULT_SCHEDULE = '*/30 * * * * *';
export const DEFAULT_PORT = 10987;
