import { redactUrlCredentials } from '../support/redact.js';
import type { Config } from './schema.js';

const MASK = '***';

/** A deep copy safe to log: every secret replaced by `***`. */
export function redactConfig(config: Config): unknown {
  const copy = structuredClone(config);
  const auth = copy.codearts.auth;
  if (auth.kind === 'token') auth.token = MASK;
  else if (auth.kind === 'iam') auth.password = MASK;
  else auth.secret_key = MASK;
  if (copy.codearts.proxy) copy.codearts.proxy = redactUrlCredentials(copy.codearts.proxy);
  const redis = copy.state.redis;
  if (redis) {
    redis.url = redactUrlCredentials(redis.url);
    if (redis.password !== undefined) redis.password = MASK;
  }
  return copy;
}

/** One line for logs and `validate`: where it talks to, how it authenticates, what it polls. No secrets. */
export function describeConfig(config: Config): string {
  const { codearts, poll, jobs, server } = config;
  return [
    `endpoint=${codearts.endpoint}`,
    `api=${codearts.record_api}`,
    `auth=${codearts.auth.kind}`,
    ...(codearts.proxy ? [`proxy=${redactUrlCredentials(codearts.proxy)}`] : []),
    `jobs=${jobs.length}`,
    ...(config.projects.length > 0 ? [`projects=${config.projects.length}`] : []),
    `schedule=${JSON.stringify(poll.schedule)}`,
    `timezone=${poll.timezone}`,
    `port=${server.port}`,
  ].join(' ');
}

/** The settings worth seeing in the start-up log line, as snake_case fields. No secrets. */
export function summarizeConfig(config: Config): Record<string, unknown> {
  const { codearts, poll, metrics, server, state, log } = config;
  return {
    endpoint: codearts.endpoint,
    region: codearts.region,
    record_api: codearts.record_api,
    auth: codearts.auth.kind,
    jobs: config.jobs.length,
    projects: config.projects.length,
    schedule: poll.schedule,
    timezone: poll.timezone,
    start_at: poll.start_at,
    max_requests_per_second: codearts.max_requests_per_second,
    max_concurrency: codearts.max_concurrency,
    job_histograms: metrics.job_histograms,
    record_labels: metrics.record_labels,
    listen: `${server.host}:${server.port}`,
    state_backend: state.backend,
    ...(state.redis
      ? { state_redis: redactUrlCredentials(state.redis.url), state_key_prefix: state.redis.key_prefix }
      : { state_path: state.path }),
    log_level: log.level,
    log_format: log.format,
  };
}
