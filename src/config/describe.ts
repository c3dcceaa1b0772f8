import { redactUrlCredentials } from '../codearts/network-errors.js';
import type { Config } from './types.js';

const MASK = '***';

/** A deep copy safe to log: every secret replaced by `***`. */
export function redactConfig(config: Config): unknown {
  const copy = structuredClone(config);
  const auth = copy.codearts.auth;
  if (auth.kind === 'token') auth.token = MASK;
  else if (auth.kind === 'iam') auth.password = MASK;
  else auth.secret_key = MASK;
  if (copy.codearts.proxy) copy.codearts.proxy = redactUrlCredentials(copy.codearts.proxy);
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
