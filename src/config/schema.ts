import { validate as isValidCron } from 'node-cron';
import { z } from 'zod';
import { formatDuration, MAX_DURATION_MS, parseDuration } from './duration.js';
import { RECORD_LABEL_NAMES } from '../domain/build.js';
import { consoleLink, DEFAULT_CONSOLE_URL, parseConsoleUrl } from '../domain/console-link.js';
import { DEFAULT_MAX_ERROR_CODES_PER_JOB } from '../domain/failures.js';
import { DEFAULT_FLAKY_WINDOW_SECONDS, DEFAULT_RECOVERY_BUCKETS } from '../domain/health.js';
import { DEFAULT_MAX_STEPS_PER_JOB, DEFAULT_STEP_BUCKETS } from '../domain/steps.js';
import { isPlainObject } from '../support/objects.js';
import {
  DEFAULT_DURATION_BUCKETS,
  DEFAULT_PORT,
  DEFAULT_QUEUE_BUCKETS,
  DEFAULT_REGION,
  DEFAULT_SCHEDULE,
  LOG_FORMATS,
  LOG_LEVELS,
} from './types.js';

// Consumers import the config's defaults from here.
export { DEFAULT_DURATION_BUCKETS, DEFAULT_PORT, DEFAULT_QUEUE_BUCKETS, DEFAULT_REGION, DEFAULT_SCHEDULE } from './types.js';

/** The validated configuration: defaults filled in, durations in milliseconds, `*_file` secrets read. */
export type Config = z.output<ReturnType<typeof createConfigSchema>>;

export interface SchemaOptions {
  /** Reads a `*_file` secret; receives the path exactly as written in the config. */
  readFile: (path: string) => string;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const JOB_ID = /^[0-9a-zA-Z]{32}$/;
const LABEL_SAFE = /^\P{Cc}{1,128}$/u;
const ERROR_CODE = /^[A-Za-z0-9_.-]+$/;
const CONTROL_CHARS = /\p{Cc}/u;
const NUMERIC = /^-?\d+(?:\.\d+)?$/;
const DAY_MS = 86_400_000;
const KEEP_REMOVED_JOBS_MAX_MS = 366 * DAY_MS;

// `${VAR}` interpolation always produces strings, so numbers and booleans also accept their text.
function numeric<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (typeof v === 'string' && NUMERIC.test(v.trim()) ? Number(v) : v), schema);
}

const int = (min: number, max: number) => numeric(z.number().int().min(min).max(max));
const bool = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());
const nonEmpty = z.string().min(1);

function duration({ positive = false, maxMs = MAX_DURATION_MS } = {}) {
  return z.unknown().transform((value, ctx): number => {
    if (typeof value !== 'number' && typeof value !== 'string') {
      ctx.addIssue({ code: 'custom', message: 'must be a duration such as 500ms, 10s, 5m, 7d or a number of seconds' });
      return z.NEVER;
    }
    try {
      const ms = parseDuration(value, maxMs);
      if (positive && ms <= 0) {
        ctx.addIssue({ code: 'custom', message: 'must be greater than 0' });
        return z.NEVER;
      }
      return ms;
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });
}

/** An http(s) base URL, normalised without a trailing slash. Messages never echo it: it may hold credentials. */
const httpUrl = nonEmpty.transform((value, ctx): string => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an http(s) URL' });
    return z.NEVER;
  }
  const problem =
    url.protocol !== 'http:' && url.protocol !== 'https:'
      ? 'must be an http(s) URL'
      : url.username || url.password
        ? 'must not contain credentials'
        : url.search || url.hash || /[?#]/.test(value)
          ? 'must not contain a query or fragment'
          : undefined;
  if (problem) {
    ctx.addIssue({ code: 'custom', message: problem });
    return z.NEVER;
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
});

/** A forward proxy URL; unlike endpoints it may carry credentials. Messages never echo it. */
const proxyUrl = nonEmpty.superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a proxy URL such as http://proxy.example.com:3128' });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: 'must be an http(s) proxy URL' });
  else if (url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
    ctx.addIssue({ code: 'custom', message: 'must be scheme://[user:password@]host:port without a path or query' });
  }
});

/** A readable PEM file holding at least one certificate; checked when the config is loaded. */
function pemFile(readFile: SchemaOptions['readFile']) {
  return nonEmpty.superRefine((path, ctx) => {
    let content: string;
    try {
      content = readFile(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      ctx.addIssue({ code: 'custom', message: `cannot read file ${JSON.stringify(path)} (${code})` });
      return;
    }
    if (!content.includes('-----BEGIN CERTIFICATE-----')) {
      ctx.addIssue({ code: 'custom', message: `file ${JSON.stringify(path)} holds no PEM certificate (-----BEGIN CERTIFICATE-----)` });
    }
  });
}

/**
 * `codearts.console_url`: a template of a build's page in the CodeArts console ('' turns the
 * links off). Its placeholders are checked here, and the URL it makes must be http(s).
 */
const consoleUrl = z
  .string()
  .superRefine((template, ctx) => {
    if (template === '') return;
    const parsed = parseConsoleUrl(template);
    if ('error' in parsed) {
      ctx.addIssue({ code: 'custom', message: parsed.error });
      return;
    }
    const link = consoleLink(parsed.template, { region: 'cn-north-4', jobId: '0'.repeat(32), projectId: '0'.repeat(32) });
    let url: URL | undefined;
    try {
      url = new URL(`${link?.prefix ?? ''}1${link?.suffix ?? ''}`);
    } catch {
      url = undefined;
    }
    if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: 'must make an http(s) URL, e.g. ' + DEFAULT_CONSOLE_URL });
    }
  })
  .default(DEFAULT_CONSOLE_URL);

const secretValue = nonEmpty.refine((v) => !CONTROL_CHARS.test(v), 'must not contain control characters or line breaks');

/**
 * Takes `key` or `key_file` from an object, reading the file. Issues name the key and the path,
 * never the secret or the file content.
 */
function resolveSecret(
  holder: Record<string, unknown>,
  key: string,
  readFile: SchemaOptions['readFile'],
  ctx: z.RefinementCtx,
  at: PropertyKey[] = [],
): string | undefined {
  const fileKey = `${key}_file`;
  const value = holder[key];
  const file = holder[fileKey];
  if (value !== undefined && file !== undefined) {
    ctx.addIssue({ code: 'custom', path: [...at, key], message: `give ${key} or ${fileKey}, not both` });
    return undefined;
  }
  if (typeof file === 'string') {
    let content: string;
    try {
      content = readFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      ctx.addIssue({ code: 'custom', path: [...at, fileKey], message: `cannot read file ${JSON.stringify(file)} (${code})` });
      return undefined;
    }
    // Secret files usually end with a newline (echo, kubectl create secret --from-file).
    content = content.replace(/[\r\n]+$/, '');
    const problem = content === '' ? 'is empty' : CONTROL_CHARS.test(content) ? 'contains control characters or line breaks' : undefined;
    if (problem) {
      ctx.addIssue({ code: 'custom', path: [...at, fileKey], message: `file ${JSON.stringify(file)} ${problem}` });
      return undefined;
    }
    return content;
  }
  if (typeof value === 'string') return value;
  ctx.addIssue({ code: 'custom', path: [...at, key], message: `is required (or ${fileKey})` });
  return undefined;
}

const REDIS_URL = /^(rediss?|redis\+sentinel):\/\/\S+$/i;

/** `state`: the file (default) or Redis (several replicas, docs/high-availability.md). */
function stateSchema(readFile: SchemaOptions['readFile']) {
  const redis = z.strictObject({
    url: z.string().regex(REDIS_URL, 'must be a redis://, rediss:// or redis+sentinel://host:port[,host:port]/master_name URL'),
    password: secretValue.optional(),
    password_file: nonEmpty.optional(),
    key_prefix: z
      .string()
      .regex(/^[\w:.-]{0,64}$/, 'must be up to 64 letters, digits, _ : . -')
      .default('cbe:'),
    lease: duration({ positive: true, maxMs: 3_600_000 }).default(30_000),
  });
  return z
    .strictObject({
      backend: z.enum(['file', 'redis']).default('file'),
      path: nonEmpty.default('./data/state.json'),
      // Only compared with the clock, never a timer: may exceed the timer limit.
      keep_removed_jobs: duration({ maxMs: KEEP_REMOVED_JOBS_MAX_MS }).default(7 * DAY_MS),
      redis: redis.optional(),
    })
    .prefault({})
    .transform((s, ctx) => {
      const base = { backend: s.backend, path: s.path, keep_removed_jobs_ms: s.keep_removed_jobs };
      if (s.backend === 'file') return { ...base, redis: undefined };
      if (!s.redis) {
        ctx.addIssue({ code: 'custom', path: ['redis'], message: 'is required with backend: redis (at least url)' });
        return z.NEVER;
      }
      const { password: _value, password_file: _file, lease, ...rest } = s.redis;
      const given = s.redis.password !== undefined || s.redis.password_file !== undefined;
      const password = given ? resolveSecret(s.redis, 'password', readFile, ctx, ['redis']) : undefined;
      return { ...base, redis: { ...rest, lease_ms: lease, password } };
    });
}

const AUTH_KINDS = ['token', 'iam', 'aksk'] as const;

function authSchema(readFile: SchemaOptions['readFile']) {
  const iam = z.strictObject({
    endpoint: httpUrl.optional(),
    domain: nonEmpty,
    user: nonEmpty,
    password: secretValue.optional(),
    password_file: nonEmpty.optional(),
    project: nonEmpty.optional(),
    project_id: nonEmpty.optional(),
  });
  const aksk = z.strictObject({
    access_key: nonEmpty,
    secret_key: secretValue.optional(),
    secret_key_file: nonEmpty.optional(),
    project_id: nonEmpty.optional(),
  });
  return z
    .strictObject({
      token: secretValue.optional(),
      token_file: nonEmpty.optional(),
      iam: iam.optional(),
      aksk: aksk.optional(),
    })
    .prefault({})
    .transform((auth, ctx) => {
      const given = AUTH_KINDS.filter((kind) =>
        kind === 'token' ? auth.token !== undefined || auth.token_file !== undefined : auth[kind] !== undefined,
      );
      if (given.length !== 1) {
        const got = given.length > 1 ? ` (got ${given.join(', ')})` : '';
        ctx.addIssue({ code: 'custom', message: `exactly one of token, iam, aksk is required${got}` });
        return z.NEVER;
      }
      if (auth.iam) {
        const { password_file: _file, password: _value, ...rest } = auth.iam;
        if (rest.project !== undefined && rest.project_id !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['iam'], message: 'give project or project_id, not both' });
        }
        const password = resolveSecret(auth.iam, 'password', readFile, ctx, ['iam']);
        return password === undefined ? z.NEVER : { kind: 'iam' as const, ...rest, password };
      }
      if (auth.aksk) {
        const { secret_key_file: _file, secret_key: _value, ...rest } = auth.aksk;
        const secretKey = resolveSecret(auth.aksk, 'secret_key', readFile, ctx, ['aksk']);
        return secretKey === undefined ? z.NEVER : { kind: 'aksk' as const, ...rest, secret_key: secretKey };
      }
      const token = resolveSecret(auth, 'token', readFile, ctx);
      return token === undefined ? z.NEVER : { kind: 'token' as const, token };
    });
}

function codeartsSchema(readFile: SchemaOptions['readFile']) {
  const retry = z
    .strictObject({
      retries: int(0, 10).default(4),
      min_delay: duration().default(1_000),
      max_delay: duration({ positive: true }).default(20_000),
    })
    .prefault({})
    .superRefine(
      (r, ctx) => {
        if (r.max_delay < r.min_delay) {
          ctx.addIssue({ code: 'custom', path: ['max_delay'], message: `must be >= min_delay (${formatDuration(r.min_delay)})` });
        }
      },
      // Also when `retries` is invalid, as long as both delays parsed.
      { when: (payload) => bothNumbers(payload.value, 'min_delay', 'max_delay') },
    )
    .transform((r) => ({ retries: r.retries, min_delay_ms: r.min_delay, max_delay_ms: r.max_delay }));

  return z
    .strictObject({
      region: z.string().regex(REGION, 'must be a region id such as cn-north-4').default(DEFAULT_REGION),
      endpoint: httpUrl.optional(),
      record_api: z.enum(['v4', 'v1']).default('v4'),
      auth: authSchema(readFile),
      request_timeout: duration({ positive: true }).default(10_000),
      max_concurrency: int(1, 256).default(8),
      max_requests_per_second: numeric(z.number().gt(0).max(1000)).default(10),
      retry,
      not_found_codes: z.array(z.string().regex(ERROR_CODE, 'must be an error code such as CB.00031006')).default(() => []),
      max_response_bytes: int(1024, 256 * 1024 * 1024).default(1024 * 1024),
      proxy: proxyUrl.optional(),
      ca_file: pemFile(readFile).optional(),
      breaker_failures: int(0, 100_000).default(10),
      console_url: consoleUrl,
    })
    .prefault({})
    .transform((c) => ({
      region: c.region,
      endpoint: c.endpoint ?? `https://cloudbuild-ext.${c.region}.myhuaweicloud.com`,
      record_api: c.record_api,
      auth: withRegionDefaults(c.auth, c.region),
      request_timeout_ms: c.request_timeout,
      max_concurrency: c.max_concurrency,
      max_requests_per_second: c.max_requests_per_second,
      retry: c.retry,
      /** Added to the client's built-in not-found codes (DEFAULT_NOT_FOUND_CODES in src/codearts/envelope.ts). */
      not_found_codes: [...new Set(c.not_found_codes)],
      max_response_bytes: c.max_response_bytes,
      ...optional('proxy', c.proxy),
      ...optional('ca_file', c.ca_file),
      breaker_failures: c.breaker_failures,
      /** Template of a build's console page ('' = no links); placeholders checked (src/domain/console-link.ts). */
      console_url: c.console_url,
    }));
}

/** `{key: value}` when the value is set, else `{}`: the key stays optional in the inferred Config. */
function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;
}

function bothNumbers(value: unknown, a: string, b: string): boolean {
  return isPlainObject(value) && typeof value[a] === 'number' && typeof value[b] === 'number';
}

type AuthDraft = z.output<ReturnType<typeof authSchema>>;

/** The IAM endpoint and token scope follow the region unless given. */
function withRegionDefaults(auth: AuthDraft, region: string) {
  if (auth.kind !== 'iam') return auth;
  const scope = auth.project === undefined && auth.project_id === undefined ? { project: region } : {};
  return { ...auth, endpoint: auth.endpoint ?? `https://iam.${region}.myhuaweicloud.com`, ...scope };
}

const lowerCase = (v: unknown) => (typeof v === 'string' ? v.trim().toLowerCase() : v);

const pollSchema = z
  .strictObject({
    schedule: z
      .string()
      .superRefine((v, ctx) => {
        if (!isValidCron(v)) ctx.addIssue({ code: 'custom', message: `invalid cron expression ${JSON.stringify(v)}` });
      })
      .default(DEFAULT_SCHEDULE),
    timezone: z
      .string()
      .superRefine((v, ctx) => {
        if (!isValidTimeZone(v)) ctx.addIssue({ code: 'custom', message: `unknown time zone ${JSON.stringify(v)}` });
      })
      .default('UTC'),
    start_at: z
      .unknown()
      .transform((v, ctx): 'latest' | number => {
        if (v === 'latest') return v;
        const n = typeof v === 'string' && NUMERIC.test(v.trim()) ? Number(v) : v;
        if (typeof n === 'number' && Number.isSafeInteger(n) && n > 0) return n;
        ctx.addIssue({ code: 'custom', message: 'must be "latest" or a build number (a positive integer)' });
        return z.NEVER;
      })
      .default('latest'),
    max_builds_per_job_per_cycle: int(1, 1000).default(50),
    max_pending_age: duration()
      .refine((ms) => ms >= 3_600_000, 'must be at least 1h (builds run for hours; a shorter age would give up running builds)')
      .default(48 * 3_600_000),
    discovery_interval: duration({ positive: true }).default(600_000),
    removed_job_grace: duration().default(900_000),
    watchdog_periods: int(0, 100_000).default(20),
    change_feed: z.preprocess(lowerCase, z.enum(['auto', 'off'])).default('auto'),
    full_probe_interval: duration()
      .refine((ms) => ms >= 60_000, 'must be at least 1m (a full probe of every job more often costs more than the list saves)')
      .default(600_000),
  })
  .prefault({})
  .transform(({ discovery_interval, removed_job_grace, max_pending_age, full_probe_interval, ...rest }) => ({
    ...rest,
    max_pending_age_ms: max_pending_age,
    discovery_interval_ms: discovery_interval,
    removed_job_grace_ms: removed_job_grace,
    full_probe_interval_ms: full_probe_interval,
  }));

function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone !== '';
  } catch {
    return false;
  }
}

const jobsSchema = z
  .array(
    z.strictObject({
      id: z.string().regex(JOB_ID, 'must be 32 letters or digits'),
      name: z.string().regex(LABEL_SAFE, 'must be 1 to 128 characters without control characters').optional(),
      project: z.string().regex(JOB_ID, 'must be 32 letters or digits (the CodeArts project id)').optional(),
    }),
  )
  .prefault([])
  // Runs even when another job is invalid, so every duplicate is reported in one go.
  .superRefine(
    (jobs, ctx) => {
      const firstIndex = new Map<string, number>();
      jobs.forEach((job, i) => {
        const id = (job as { id?: unknown } | null)?.id;
        if (typeof id !== 'string') return;
        const first = firstIndex.get(id);
        if (first === undefined) firstIndex.set(id, i);
        else ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate job id (same as jobs[${first}].id)` });
      });
    },
    { when: (payload) => Array.isArray(payload.value) },
  );

const regex = z.string().superRefine((pattern, ctx) => {
  try {
    new RegExp(pattern, 'u');
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(error as Error).message}` });
  }
});

const projectsSchema = z
  .array(
    z.strictObject({
      id: z.string().regex(JOB_ID, 'must be 32 letters or digits (the CodeArts project id)'),
      include: regex.optional(),
      exclude: regex.optional(),
    }),
  )
  .default(() => []);

function buckets(defaults: readonly number[]) {
  return z
    .array(numeric(z.number().gt(0)))
    .min(1)
    .superRefine((values, ctx) => {
      values.forEach((v, i) => {
        const previous = values[i - 1];
        if (previous !== undefined && v <= previous) {
          ctx.addIssue({ code: 'custom', path: [i], message: `must be greater than the previous bucket (${previous})` });
        }
      });
    })
    .default(() => [...defaults]);
}

const metricsSchema = z
  .strictObject({
    record_labels: z
      .array(z.enum(RECORD_LABEL_NAMES))
      .superRefine((labels, ctx) => {
        labels.forEach((label, i) => {
          if (labels.indexOf(label) !== i) ctx.addIssue({ code: 'custom', path: [i], message: `duplicate label ${label}` });
        });
      })
      .default(() => []),
    duration_buckets: buckets(DEFAULT_DURATION_BUCKETS),
    queue_buckets: buckets(DEFAULT_QUEUE_BUCKETS),
    job_histograms: bool.default(true),
    steps: z
      .strictObject({
        enabled: bool.default(false),
        max_per_job: int(1, 1000).default(DEFAULT_MAX_STEPS_PER_JOB),
        buckets: buckets(DEFAULT_STEP_BUCKETS),
      })
      .prefault({}),
    failures: z
      .strictObject({
        enabled: bool.default(false),
        max_error_codes_per_job: int(1, 1000).default(DEFAULT_MAX_ERROR_CODES_PER_JOB),
      })
      .prefault({}),
    recovery: z
      .strictObject({
        enabled: bool.default(false),
        buckets: buckets(DEFAULT_RECOVERY_BUCKETS),
        flaky_window: duration({ positive: true }).default(DEFAULT_FLAKY_WINDOW_SECONDS * 1000),
      })
      .prefault({})
      .transform(({ flaky_window, ...rest }) => ({ ...rest, flaky_window_ms: flaky_window })),
    details_retry_for: duration().default(3_600_000),
  })
  .prefault({})
  .transform(({ details_retry_for, ...rest }) => ({ ...rest, details_retry_for_ms: details_retry_for }));

const logLevel = z.preprocess(lowerCase, z.enum(LOG_LEVELS));
const logFormat = z.preprocess(lowerCase, z.enum(LOG_FORMATS));

/**
 * The whole config file: shape, defaults and validation in one place (unknown keys are errors).
 * Reading `*_file` secrets is the only I/O, and it goes through `options.readFile`.
 */
export function createConfigSchema(options: SchemaOptions) {
  return z
    .strictObject({
      codearts: codeartsSchema(options.readFile),
      poll: pollSchema,
      jobs: jobsSchema,
      projects: projectsSchema,
      metrics: metricsSchema,
      server: z
        .strictObject({
          host: nonEmpty.default('0.0.0.0'),
          port: int(0, 65535).default(DEFAULT_PORT),
          // false: /metrics answers the Prometheus text format whatever Accept asks (no OpenMetrics, no exemplars).
          openmetrics: bool.default(true),
        })
        .prefault({}),
      state: stateSchema(options.readFile),
      log: z.strictObject({ level: logLevel.default('info'), format: logFormat.default('json') }).prefault({}),
    })
    .superRefine(
      (config, ctx) => {
        if (config.jobs.length === 0 && config.projects.length === 0) {
          ctx.addIssue({ code: 'custom', path: ['jobs'], message: 'at least one job is required (or projects to discover jobs from)' });
        }
      },
      { when: (payload) => isJobsAndProjectsShaped(payload.value) },
    );
}

function isJobsAndProjectsShaped(value: unknown): boolean {
  return isPlainObject(value) && Array.isArray(value.jobs) && Array.isArray(value.projects);
}
