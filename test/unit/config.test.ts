import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_NOT_FOUND_CODES, interpretResponse, notFoundCodeSet } from '../../src/codearts/envelope.js';
import { expandVariables } from '../../src/config/interpolate.js';
import type { Config } from '../../src/config/load.js';
import { ConfigError, describeConfig, loadConfig, parseConfigText, redactConfig } from '../../src/config/load.js';

const TOKEN = 'SENTINEL-TOKEN-123';
const JOB_A = '0123456789abcdef0123456789abcdef';
const JOB_B = 'ABCDEF0123456789abcdef0123456789';

const MINIMAL = `
codearts:
  auth:
    token: ${TOKEN}
jobs:
  - id: ${JOB_A}
`;

const tmp = mkdtempSync(join(tmpdir(), 'config-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function tempFile(name: string, content: string): string {
  const path = join(tmp, name);
  writeFileSync(path, content);
  return path;
}

function parse(text: string, env: NodeJS.ProcessEnv = {}): Config {
  return parseConfigText(text, { env });
}

/** The ConfigError a config produces; fails the test when it is valid or throws something else. */
function configError(text: string, env: NodeJS.ProcessEnv = {}, readFile?: (path: string) => string): ConfigError {
  try {
    parseConfigText(text, { env, source: 'test.yml', ...(readFile ? { readFile } : {}) });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected the config to be invalid');
}

const problems = (text: string, env: NodeJS.ProcessEnv = {}) => configError(text, env).problems;

/** A valid config with `lines` spliced into the given top-level block. */
function withBlock(block: 'codearts' | 'poll' | 'metrics' | 'server' | 'state' | 'log', lines: string): string {
  if (block === 'codearts') return MINIMAL.replace('codearts:\n', `codearts:\n${lines}\n`);
  return `${MINIMAL}${block}:\n${lines}\n`;
}

describe('parseConfigText: valid configs', () => {
  it('fills every default', () => {
    const config = parse(MINIMAL);
    expect(config).toEqual({
      codearts: {
        region: 'cn-north-4',
        endpoint: 'https://cloudbuild-ext.cn-north-4.myhuaweicloud.com',
        record_api: 'v4',
        auth: { kind: 'token', token: TOKEN },
        request_timeout_ms: 10_000,
        max_concurrency: 8,
        max_requests_per_second: 10,
        retry: { retries: 4, min_delay_ms: 1_000, max_delay_ms: 20_000 },
        not_found_codes: [],
        max_response_bytes: 1_048_576,
        breaker_failures: 10,
        console_url: 'https://devcloud.{region}.huaweicloud.com/cloudbuild/index.html#/job/{job_id}/build/{build_no}',
      },
      poll: {
        schedule: '*/30 * * * * *',
        timezone: 'UTC',
        start_at: 'latest',
        max_builds_per_job_per_cycle: 50,
        max_pending_age_ms: 48 * 3_600_000,
        discovery_interval_ms: 600_000,
        removed_job_grace_ms: 900_000,
        watchdog_periods: 20,
        change_feed: 'auto',
        full_probe_interval_ms: 600_000,
      },
      jobs: [{ id: JOB_A }],
      projects: [],
      metrics: {
        record_labels: [],
        duration_buckets: [30, 60, 120, 300, 600, 900, 1800, 3600, 7200],
        queue_buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800],
        job_histograms: true,
        steps: { enabled: false, max_per_job: 30, buckets: [5, 15, 30, 60, 120, 300, 600, 1200, 2400] },
        failures: { enabled: false, max_error_codes_per_job: 20 },
        recovery: {
          enabled: false,
          buckets: [300, 900, 1800, 3600, 7200, 14400, 43200, 86400, 259200, 604800],
          flaky_window_ms: 86_400_000,
        },
        details_retry_for_ms: 3_600_000,
      },
      server: { host: '0.0.0.0', port: 10987, openmetrics: true },
      state: { backend: 'file', path: './data/state.json', keep_removed_jobs_ms: 604_800_000, redis: undefined },
      log: { level: 'info', format: 'json' },
    } satisfies Config);
  });

  it('returns a deeply frozen object', () => {
    const config = parse(MINIMAL);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.codearts.retry)).toBe(true);
    expect(Object.isFrozen(config.jobs[0])).toBe(true);
  });

  it('derives the endpoint from the region and normalises an explicit one', () => {
    expect(parse(withBlock('codearts', '  region: ap-southeast-3')).codearts.endpoint).toBe(
      'https://cloudbuild-ext.ap-southeast-3.myhuaweicloud.com',
    );
    const explicit = parse(withBlock('codearts', '  endpoint: http://localhost:8080/api//'));
    expect(explicit.codearts.endpoint).toBe('http://localhost:8080/api');
  });

  it('converts durations to milliseconds and keeps the retry keys apart', () => {
    const config = parse(withBlock('codearts', '  request_timeout: 1m30s\n  retry: { retries: 0, min_delay: 500ms, max_delay: 2 }'));
    expect(config.codearts.request_timeout_ms).toBe(90_000);
    expect(config.codearts.retry).toEqual({ retries: 0, min_delay_ms: 500, max_delay_ms: 2_000 });
  });

  it('accepts days and weeks (7d, 2w) in durations', () => {
    const config = parse(`${MINIMAL}poll: { removed_job_grace: 1d }\nstate: { keep_removed_jobs: 2w }\n`);
    expect(config.poll.removed_job_grace_ms).toBe(86_400_000);
    expect(config.state.keep_removed_jobs_ms).toBe(14 * 86_400_000);
    expect(parse(`${MINIMAL}state: { keep_removed_jobs: 90d }\n`).state.keep_removed_jobs_ms).toBe(90 * 86_400_000);
  });

  it('adds not_found_codes to the defaults instead of replacing them', () => {
    const config = parse(withBlock('codearts', '  not_found_codes: [CB.99999999, CB.00031006]'));
    expect(config.codearts.not_found_codes).toEqual(['CB.99999999', 'CB.00031006']);
    // The client merges them with its built-in codes (one place: src/codearts/envelope.ts).
    const codes = notFoundCodeSet(config.codearts.not_found_codes);
    const answer = (status: number, code: string) => interpretResponse(status, JSON.stringify({ error_code: code, error_msg: 'x' }), codes);
    expect(answer(422, 'CB.99999999')).toMatchObject({ ok: false, kind: 'not_found' });
    for (const code of DEFAULT_NOT_FOUND_CODES) expect(answer(422, code)).toMatchObject({ ok: false, kind: 'not_found' });
    expect(answer(422, 'CB.12345678')).toMatchObject({ ok: false, kind: 'permanent' });
  });

  it('reads the iam block, with region-based endpoint and project defaults', () => {
    const iam = (extra: string) =>
      parse(`
codearts:
  region: eu-west-101
  auth:
    iam: { domain: acme, user: exporter, password: pw${extra} }
jobs: [{ id: ${JOB_A} }]
`).codearts.auth;
    expect(iam('')).toEqual({
      kind: 'iam',
      endpoint: 'https://iam.eu-west-101.myhuaweicloud.com',
      domain: 'acme',
      user: 'exporter',
      password: 'pw',
      project: 'eu-west-101',
    });
    expect(iam(', project_id: p123, endpoint: "https://iam.example.com/"')).toEqual({
      kind: 'iam',
      endpoint: 'https://iam.example.com',
      domain: 'acme',
      user: 'exporter',
      password: 'pw',
      project_id: 'p123',
    });
  });

  it('reads the aksk block', () => {
    const config = parse(`
codearts:
  auth: { aksk: { access_key: AK, secret_key: SK, project_id: p1 } }
jobs: [{ id: ${JOB_A} }]
`);
    expect(config.codearts.auth).toEqual({ kind: 'aksk', access_key: 'AK', secret_key: 'SK', project_id: 'p1' });
  });

  it('accepts a console_url with every placeholder, and an empty one (no links)', () => {
    const template = 'https://console.example.com/{region}/project/{project_id}/job/{job_id}/build/{build_no}?tab=log';
    expect(parse(withBlock('codearts', `  console_url: "${template}"`)).codearts.console_url).toBe(template);
    expect(parse(withBlock('codearts', '  console_url: ""')).codearts.console_url).toBe('');
    expect(parse(withBlock('server', '  openmetrics: "false"')).server.openmetrics).toBe(false);
  });

  it('accepts port 0 (any free port, for tests and the demo)', () => {
    expect(parse(`${MINIMAL}server: { port: 0 }\n`).server.port).toBe(0);
  });

  it('accepts start_at as a build number and job names', () => {
    const config = parse(
      `${MINIMAL}    name: backend ci/ñ\npoll:\n  start_at: 42\n  timezone: Asia/Shanghai\n  schedule: "0 */5 * * * *"\n`,
    );
    expect(config.poll).toMatchObject({ start_at: 42, timezone: 'Asia/Shanghai', schedule: '0 */5 * * * *' });
    expect(config.jobs).toEqual([{ id: JOB_A, name: 'backend ci/ñ' }]);
  });

  it('treats an empty file as an empty mapping', () => {
    expect(problems('')).toEqual([
      'codearts.auth: exactly one of token, iam, aksk is required',
      'jobs: at least one job is required (or projects to discover jobs from)',
    ]);
  });
});

describe('parseConfigText: invalid configs name the key path', () => {
  it.each([
    [
      'retry.max_delay < min_delay',
      withBlock('codearts', '  retry: { min_delay: 30s, max_delay: 10s }'),
      'codearts.retry.max_delay: must be >= min_delay (30s)',
    ],
    ['retry.retries too large', withBlock('codearts', '  retry: { retries: 11 }'), 'codearts.retry.retries: must be <= 10'],
    ['retry not a mapping', withBlock('codearts', '  retry: 5'), 'codearts.retry: must be a mapping'],
    ['bad region', withBlock('codearts', '  region: North'), 'codearts.region: must be a region id such as cn-north-4'],
    ['non-http endpoint', withBlock('codearts', '  endpoint: ftp://example.com'), 'codearts.endpoint: must be an http(s) URL'],
    ['endpoint not a URL', withBlock('codearts', '  endpoint: example.com'), 'codearts.endpoint: must be an http(s) URL'],
    [
      'endpoint with credentials',
      withBlock('codearts', '  endpoint: https://u:p@example.com'),
      'codearts.endpoint: must not contain credentials',
    ],
    [
      'endpoint with query',
      withBlock('codearts', '  endpoint: https://example.com/?a=1'),
      'codearts.endpoint: must not contain a query or fragment',
    ],
    ['record_api', withBlock('codearts', '  record_api: v5'), 'codearts.record_api: must be one of v4, v1'],
    [
      'request_timeout',
      withBlock('codearts', '  request_timeout: soon'),
      'codearts.request_timeout: invalid duration "soon": use a number of seconds or a string like 500ms, 10s, 5m, 1h, 7d, 2w, 1m30s',
    ],
    ['request_timeout zero', withBlock('codearts', '  request_timeout: 0'), 'codearts.request_timeout: must be greater than 0'],
    [
      'request_timeout type',
      withBlock('codearts', '  request_timeout: true'),
      'codearts.request_timeout: must be a duration such as 500ms, 10s, 5m, 7d or a number of seconds',
    ],
    ['max_concurrency zero', withBlock('codearts', '  max_concurrency: 0'), 'codearts.max_concurrency: must be >= 1'],
    ['max_concurrency fraction', withBlock('codearts', '  max_concurrency: 1.5'), 'codearts.max_concurrency: must be an integer'],
    ['max_requests_per_second', withBlock('codearts', '  max_requests_per_second: 0'), 'codearts.max_requests_per_second: must be > 0'],
    [
      'not_found_codes',
      withBlock('codearts', '  not_found_codes: ["no spaces"]'),
      'codearts.not_found_codes[0]: must be an error code such as CB.00031006',
    ],
    ['no auth', `jobs: [{ id: ${JOB_A} }]`, 'codearts.auth: exactly one of token, iam, aksk is required'],
    [
      'two auths',
      withBlock('codearts', '    aksk: { access_key: a, secret_key: b }')
        .replace('codearts:\n    aksk', 'codearts:\n  auth:\n    aksk')
        .replace(/\n {2}auth:\n {4}token/, '\n    token'),
      'codearts.auth: exactly one of token, iam, aksk is required (got token, aksk)',
    ],
    ['unknown auth key', MINIMAL.replace('    token:', '    foo: 1\n    token:'), 'codearts.auth.foo: unknown key'],
    [
      'iam user missing',
      `codearts:\n  auth:\n    iam: { domain: d, password: p }\njobs: [{ id: ${JOB_A} }]`,
      'codearts.auth.iam.user: is required',
    ],
    [
      'iam password missing',
      `codearts:\n  auth:\n    iam: { domain: d, user: u }\njobs: [{ id: ${JOB_A} }]`,
      'codearts.auth.iam.password: is required (or password_file)',
    ],
    [
      'iam project and project_id',
      `codearts:\n  auth:\n    iam: { domain: d, user: u, password: p, project: a, project_id: b }\njobs: [{ id: ${JOB_A} }]`,
      'codearts.auth.iam: give project or project_id, not both',
    ],
    [
      'iam unknown key',
      `codearts:\n  auth:\n    iam: { domain: d, user: u, password: p, tenant: x }\njobs: [{ id: ${JOB_A} }]`,
      'codearts.auth.iam.tenant: unknown key',
    ],
    [
      'aksk secret missing',
      `codearts:\n  auth:\n    aksk: { access_key: a }\njobs: [{ id: ${JOB_A} }]`,
      'codearts.auth.aksk.secret_key: is required (or secret_key_file)',
    ],
    ['empty token', MINIMAL.replace(TOKEN, '""'), 'codearts.auth.token: must not be empty'],
    ['unknown codearts key', withBlock('codearts', '  verbose: true'), 'codearts.verbose: unknown key'],
    ['bad cron', withBlock('poll', '  schedule: every minute'), 'poll.schedule: invalid cron expression "every minute"'],
    ['bad time zone', withBlock('poll', '  timezone: Mars/Olympus'), 'poll.timezone: unknown time zone "Mars/Olympus"'],
    ['start_at zero', withBlock('poll', '  start_at: 0'), 'poll.start_at: must be "latest" or a build number (a positive integer)'],
    ['start_at word', withBlock('poll', '  start_at: newest'), 'poll.start_at: must be "latest" or a build number (a positive integer)'],
    [
      'max_builds_per_job_per_cycle',
      withBlock('poll', '  max_builds_per_job_per_cycle: 0'),
      'poll.max_builds_per_job_per_cycle: must be >= 1',
    ],
    [
      'max_pending_age too short',
      withBlock('poll', '  max_pending_age: 10m'),
      'poll.max_pending_age: must be at least 1h (builds run for hours; a shorter age would give up running builds)',
    ],
    [
      'max_pending_age not a duration',
      withBlock('poll', '  max_pending_age: forever'),
      'poll.max_pending_age: invalid duration "forever": use a number of seconds or a string like 500ms, 10s, 5m, 1h, 7d, 2w, 1m30s',
    ],
    ['unknown poll key', withBlock('poll', '  interval: 30s'), 'poll.interval: unknown key'],
    ['no jobs key', `codearts: { auth: { token: t } }`, 'jobs: at least one job is required (or projects to discover jobs from)'],
    ['empty jobs', `codearts: { auth: { token: t } }\njobs: []`, 'jobs: at least one job is required (or projects to discover jobs from)'],
    ['jobs not a list', `codearts: { auth: { token: t } }\njobs: { id: ${JOB_A} }`, 'jobs: must be a list'],
    ['bad job id', `${MINIMAL}  - id: ${JOB_B}\n  - id: abc\n`, 'jobs[2].id: must be 32 letters or digits'],
    ['duplicate job id', `${MINIMAL}  - id: ${JOB_B}\n  - id: ${JOB_A}\n`, 'jobs[2].id: duplicate job id (same as jobs[0].id)'],
    ['job name with a line break', `${MINIMAL}    name: "a\\nb"\n`, 'jobs[0].name: must be 1 to 128 characters without control characters'],
    [
      'job name too long',
      `${MINIMAL}    name: ${'x'.repeat(129)}\n`,
      'jobs[0].name: must be 1 to 128 characters without control characters',
    ],
    ['unknown job key', `${MINIMAL}    labels: {}\n`, 'jobs[0].labels: unknown key'],
    [
      'unknown record label',
      withBlock('metrics', '  record_labels: [branch, commit]'),
      'metrics.record_labels[1]: must be one of branch, repo_name, build_type, build_config_type, executor',
    ],
    [
      'duplicate record label',
      withBlock('metrics', '  record_labels: [branch, executor, branch]'),
      'metrics.record_labels[2]: duplicate label branch',
    ],
    [
      'buckets not increasing',
      withBlock('metrics', '  duration_buckets: [30, 60, 60]'),
      'metrics.duration_buckets[2]: must be greater than the previous bucket (60)',
    ],
    ['negative bucket', withBlock('metrics', '  queue_buckets: [-1, 5]'), 'metrics.queue_buckets[0]: must be > 0'],
    ['empty buckets', withBlock('metrics', '  queue_buckets: []'), 'metrics.queue_buckets: must not be empty'],
    ['job_histograms', withBlock('metrics', '  job_histograms: sometimes'), 'metrics.job_histograms: must be true or false'],
    ['port', withBlock('server', '  port: 70000'), 'server.port: must be <= 65535'],
    ['empty host', withBlock('server', '  host:'), 'server.host: must be a string (the value is empty)'],
    ['state.path', withBlock('state', '  path: ""'), 'state.path: must not be empty'],
    ['log.level', withBlock('log', '  level: loud'), 'log.level: must be one of fatal, error, warn, info, debug, trace, silent'],
    ['log.format', withBlock('log', '  format: yaml'), 'log.format: must be one of json, text'],
    ['poll.change_feed', withBlock('poll', '  change_feed: on'), 'poll.change_feed: must be one of auto, off'],
    [
      'poll.full_probe_interval below a minute',
      withBlock('poll', '  full_probe_interval: 30s'),
      'poll.full_probe_interval: must be at least 1m (a full probe of every job more often costs more than the list saves)',
    ],
    ['unknown log key', withBlock('log', '  colour: true'), 'log.colour: unknown key'],
    [
      'request_timeout beyond a timer',
      withBlock('codearts', '  request_timeout: 30d'),
      'codearts.request_timeout: duration too large (at most 24d20h31m23.647s)',
    ],
    [
      'keep_removed_jobs beyond a year',
      withBlock('state', '  keep_removed_jobs: 400d'),
      'state.keep_removed_jobs: duration too large (at most 366d)',
    ],
    [
      'console_url with an unknown placeholder',
      withBlock('codearts', '  console_url: "https://console.example.com/{region}/job/{job}/{build_no}"'),
      'codearts.console_url: unknown placeholder {job} (known: {region}, {job_id}, {project_id}, {build_no})',
    ],
    [
      'console_url without {build_no}',
      withBlock('codearts', '  console_url: "https://console.example.com/job/{job_id}"'),
      'codearts.console_url: must contain {build_no} exactly once (found 0): the dashboards put the build number there',
    ],
    [
      'console_url with {build_no} twice',
      withBlock('codearts', '  console_url: "https://console.example.com/{build_no}/{build_no}"'),
      'codearts.console_url: must contain {build_no} exactly once (found 2): the dashboards put the build number there',
    ],
    [
      'console_url with an unclosed brace',
      withBlock('codearts', '  console_url: "https://console.example.com/{job_id/{build_no}"'),
      'codearts.console_url: unknown placeholder {job_id/{build_no} (known: {region}, {job_id}, {project_id}, {build_no})',
    ],
    [
      'console_url with a brace left open at the end',
      withBlock('codearts', '  console_url: "https://console.example.com/{build_no}/{job_id"'),
      'codearts.console_url: has a "{" without its "}" at "{job_id"',
    ],
    [
      'console_url with a stray closing brace',
      withBlock('codearts', '  console_url: "https://console.example.com/}{build_no}"'),
      'codearts.console_url: has a "}" without its "{" at "https://console.example.com/}"',
    ],
    [
      'console_url that is not an http(s) URL',
      withBlock('codearts', '  console_url: "console/{job_id}/{build_no}"'),
      'codearts.console_url: must make an http(s) URL, e.g. https://devcloud.{region}.huaweicloud.com/cloudbuild/index.html#/job/{job_id}/build/{build_no}',
    ],
    ['server.openmetrics not a boolean', withBlock('server', '  openmetrics: sometimes'), 'server.openmetrics: must be true or false'],
    ['unknown top-level key', `${MINIMAL}logs:\n  level: info\n`, 'logs: unknown key (did you mean "log"?)'],
    ['root not a mapping', '- a\n- b\n', '(root): must be a mapping'],
  ])('%s', (_name, text, expected) => {
    expect(problems(text)).toContain(expected);
  });

  it('reports every problem of a file at once, one line each', () => {
    const lines = problems(`
codearts:
  region: x
  auth: {}
  retry: { retries: -1, min_delay: 5s, max_delay: 1s }
poll: { schedule: nope, extra: 1 }
jobs: [{ id: short }, { id: short }]
server: { port: -1 }
`);
    expect(lines).toEqual(
      expect.arrayContaining([
        'codearts.region: must be a region id such as cn-north-4',
        'codearts.retry.retries: must be >= 0',
        'codearts.retry.max_delay: must be >= min_delay (5s)',
        'poll.schedule: invalid cron expression "nope"',
        'poll.extra: unknown key',
        'jobs[0].id: must be 32 letters or digits',
        'jobs[1].id: must be 32 letters or digits',
        'jobs[1].id: duplicate job id (same as jobs[0].id)',
        'server.port: must be >= 0',
      ]),
    );
    for (const line of lines) expect(line).not.toContain('\n');
  });

  it('reports YAML syntax errors with their line', () => {
    expect(problems('codearts:\n  auth: {token: x\njobs: []\n')[0]).toMatch(/^yaml: line \d+, column \d+: .+ \([A-Z_]+\)$/);
    expect(problems('a: 1\na: 2\n')).toEqual(['yaml: line 2, column 1: duplicate key (DUPLICATE_KEY)']);
  });

  it('carries the source in the error', () => {
    const error = configError('jobs: 1');
    expect(error.source).toBe('test.yml');
    expect(error.name).toBe('ConfigError');
    expect(error.message).toContain('invalid config test.yml');
  });
});

describe('environment interpolation', () => {
  it.each([
    ['${A}', { A: 'x' }, 'x'],
    ['pre-${A}-post', { A: 'x' }, 'pre-x-post'],
    ['${A:-fallback}', {}, 'fallback'],
    ['${A:-fallback}', { A: '' }, 'fallback'],
    ['${A:-fallback}', { A: 'set' }, 'set'],
    ['${A:-}', {}, ''],
    ['${A}', { A: '' }, ''],
    ['$${A}', { A: 'x' }, '${A}'],
    ['cost $5', {}, 'cost $5'],
  ])('%s with %j -> %s', (text, env, expected) => {
    expect(expandVariables(text, env)).toEqual({ value: expected, problems: [] });
  });

  it.each([
    ['${MISSING}', 'environment variable MISSING is not set'],
    ['${1A}', 'invalid ${...} reference: expected ${NAME} or ${NAME:-default}'],
    ['abc${A', 'unterminated ${ (write $${ for a literal ${)'],
  ])('%s is a problem', (text, message) => {
    expect(expandVariables(text, {}).problems).toEqual([message]);
  });

  it('interpolates string values anywhere, including lists', () => {
    const config = parse(
      `codearts:\n  region: \${REGION}\n  auth: { token: "\${T}" }\njobs:\n  - id: \${JOB}\n    name: "\${NAME:-job one}"\n`,
      { REGION: 'la-south-2', T: TOKEN, JOB: JOB_B },
    );
    expect(config.codearts.region).toBe('la-south-2');
    expect(config.codearts.auth).toEqual({ kind: 'token', token: TOKEN });
    expect(config.jobs).toEqual([{ id: JOB_B, name: 'job one' }]);
  });

  it('turns interpolated numbers and booleans into their types', () => {
    const config = parse(
      `${MINIMAL}server: { port: "\${PORT:-9100}" }\nmetrics: { job_histograms: "\${H}" }\npoll: { start_at: "\${S}" }\n`,
      {
        H: 'false',
        S: '7',
      },
    );
    expect(config.server.port).toBe(9100);
    expect(config.metrics.job_histograms).toBe(false);
    expect(config.poll.start_at).toBe(7);
  });

  it('names the key path and the variable when a variable is unset, and nothing else for that key', () => {
    const lines = problems(`codearts:\n  auth: { token: "\${CODEARTS_TOKEN}" }\njobs: [{ id: ${JOB_A} }]\nserver: { port: "\${PORT}" }\n`);
    expect(lines).toEqual([
      'codearts.auth.token: environment variable CODEARTS_TOKEN is not set',
      'server.port: environment variable PORT is not set',
    ]);
  });

  it('does not interpolate keys', () => {
    expect(problems(`${MINIMAL}\${X}: 1\n`, { X: 'log' })).toEqual(['["${X}"]: unknown key']);
  });

  it('escapes $${ as a literal ${', () => {
    expect(
      parse(
        MINIMAL.replace(TOKEN, () => 'a$${b}'),
        {},
      ).codearts.auth,
    ).toEqual({ kind: 'token', token: 'a${b}' });
  });
});

describe('secret *_file twins', () => {
  const auth = (block: string) => `codearts:\n  auth:\n${block}\njobs: [{ id: ${JOB_A} }]\n`;

  it('reads token_file and trims the trailing newline', () => {
    const file = tempFile('token', `${TOKEN}\n`);
    expect(parse(auth(`    token_file: ${file}`)).codearts.auth).toEqual({ kind: 'token', token: TOKEN });
  });

  it('reads password_file and secret_key_file', () => {
    const password = tempFile('password', 'pa ss\r\n');
    const secret = tempFile('sk', 'SK');
    expect(parse(auth(`    iam: { domain: d, user: u, password_file: ${password} }`)).codearts.auth).toMatchObject({ password: 'pa ss' });
    expect(parse(auth(`    aksk: { access_key: a, secret_key_file: ${secret} }`)).codearts.auth).toEqual({
      kind: 'aksk',
      access_key: 'a',
      secret_key: 'SK',
    });
  });

  it('uses the injected readFile', () => {
    const config = parseConfigText(auth('    token_file: /run/secrets/token'), { env: {}, readFile: (path) => `${path}-content` });
    expect(config.codearts.auth).toEqual({ kind: 'token', token: '/run/secrets/token-content' });
  });

  it.each([
    ['token', `    token: x\n    token_file: /f`, 'codearts.auth.token: give token or token_file, not both'],
    [
      'password',
      `    iam: { domain: d, user: u, password: x, password_file: /f }`,
      'codearts.auth.iam.password: give password or password_file, not both',
    ],
    [
      'secret_key',
      `    aksk: { access_key: a, secret_key: x, secret_key_file: /f }`,
      'codearts.auth.aksk.secret_key: give secret_key or secret_key_file, not both',
    ],
  ])('rejects both %s and its _file', (_name, block, expected) => {
    expect(problems(auth(block))).toEqual([expected]);
  });

  it('names the key and the path of a missing file', () => {
    const missing = join(tmp, 'does-not-exist');
    expect(problems(auth(`    iam: { domain: d, user: u, password_file: ${missing} }`))).toEqual([
      `codearts.auth.iam.password_file: cannot read file ${JSON.stringify(missing)} (ENOENT)`,
    ]);
  });

  it('rejects an empty secret file', () => {
    const empty = tempFile('empty', '\n');
    expect(problems(auth(`    token_file: ${empty}`))).toEqual([`codearts.auth.token_file: file ${JSON.stringify(empty)} is empty`]);
  });
});

describe('LOG_LEVEL', () => {
  it('overrides log.level, case-insensitively', () => {
    expect(parse(`${MINIMAL}log: { level: warn }\n`, { LOG_LEVEL: 'DEBUG' }).log.level).toBe('debug');
    expect(parse(MINIMAL, { LOG_LEVEL: 'silent' }).log.level).toBe('silent');
    expect(parse(MINIMAL, { LOG_LEVEL: '' }).log.level).toBe('info');
  });

  it('is validated', () => {
    expect(problems(MINIMAL, { LOG_LEVEL: 'loud' })).toEqual([
      'log.level: LOG_LEVEL="loud" must be one of fatal, error, warn, info, debug, trace, silent',
    ]);
  });
});

describe('LOG_FORMAT', () => {
  it('overrides log.format, case-insensitively', () => {
    expect(parse(`${MINIMAL}log: { format: json }\n`, { LOG_FORMAT: 'TEXT' }).log.format).toBe('text');
    expect(parse(MINIMAL, { LOG_FORMAT: '' }).log.format).toBe('json');
    expect(parse(`${MINIMAL}log: { format: text }\n`).log.format).toBe('text');
  });

  it('is validated', () => {
    expect(problems(MINIMAL, { LOG_FORMAT: 'xml' })).toEqual(['log.format: LOG_FORMAT="xml" must be one of json, text']);
  });
});

describe('misspelt keys get a suggestion', () => {
  it.each([
    ['a top-level key', `${MINIMAL}metric:\n  job_histograms: false\n`, 'metric: unknown key (did you mean "metrics"?)'],
    ['a transposition', withBlock('codearts', '  regoin: cn-north-4'), 'codearts.regoin: unknown key (did you mean "region"?)'],
    ['camelCase', withBlock('codearts', '  maxConcurrency: 4'), 'codearts.maxConcurrency: unknown key (did you mean "max_concurrency"?)'],
    ['a dash for an underscore', withBlock('poll', '  start-at: latest'), 'poll.start-at: unknown key (did you mean "start_at"?)'],
    ['inside a list item', `${MINIMAL}    nmae: backend\n`, 'jobs[0].nmae: unknown key (did you mean "name"?)'],
    ['a nested block', withBlock('codearts', '  retry: { retires: 2 }'), 'codearts.retry.retires: unknown key (did you mean "retries"?)'],
    [
      'an auth key',
      MINIMAL.replace('    token:', '    tokn_file: /x\n    token:'),
      'codearts.auth.tokn_file: unknown key (did you mean "token_file"?)',
    ],
    [
      'an iam key',
      `codearts:\n  auth:\n    iam: { domain: d, user: u, pasword: p }\njobs: [{ id: ${JOB_A} }]`,
      'codearts.auth.iam.pasword: unknown key (did you mean "password"?)',
    ],
    [
      'a projects key',
      `codearts: { auth: { token: t } }\nprojects: [{ id: ${JOB_A}, exlude: x }]`,
      'projects[0].exlude: unknown key (did you mean "exclude"?)',
    ],
  ])('%s', (_name, text, expected) => {
    expect(problems(text)).toContain(expected);
  });

  it('offers nothing when no allowed key is close', () => {
    expect(problems(withBlock('poll', '  interval: 30s'))).toContain('poll.interval: unknown key');
  });
});

describe('secrets never reach messages', () => {
  const SECRET = /SENTINEL|987654321/;
  const badFile = tempFile('bad-secret', 'SENTINEL-FILE-789\u0007more\n');
  const cases: Array<[string, string, NodeJS.ProcessEnv?]> = [
    ['other keys invalid', `codearts:\n  region: X\n  auth: { token: ${TOKEN}, extra: 1 }\njobs: [{ id: bad }]\nlog: { level: loud }`],
    ['token is a number', `codearts:\n  auth: { token: 987654321 }\njobs: []`],
    ['token is a list', `codearts:\n  auth: { token: [${TOKEN}] }\njobs: []`],
    ['token is a mapping', `codearts:\n  auth:\n    token:\n      value: ${TOKEN}\njobs: []`],
    ['token has a control character', `codearts:\n  auth: { token: "${TOKEN}\\u0001" }\njobs: []`],
    ['token has a line break', `codearts:\n  auth: { token: "${TOKEN}\\nmore" }\njobs: []`],
    ['token and token_file', `codearts:\n  auth: { token: ${TOKEN}, token_file: /nope }\njobs: []`],
    ['token and iam', `codearts:\n  auth: { token: ${TOKEN}, iam: { domain: d, user: u, password: SENTINEL-PASSWORD-456 } }\njobs: []`],
    ['password is a number', `codearts:\n  auth: { iam: { domain: d, user: u, password: 987654321 } }\njobs: []\n`],
    ['password empty', `codearts:\n  auth: { iam: { domain: d, user: u, password: "" } }\njobs: []`],
    ['secret_key invalid', `codearts:\n  auth: { aksk: { access_key: a, secret_key: "SENTINEL-SK\\t1", region: SENTINEL-X } }\njobs: []`],
    ['bad secret file content', `codearts:\n  auth: { token_file: ${badFile} }\njobs: []`],
    ['endpoint with a password', `codearts:\n  endpoint: https://user:SENTINEL-PW@example.com\n  auth: { token: ${TOKEN} }\njobs: []`],
    ['broken interpolation', `codearts:\n  auth: { token: "SENTINEL\${oops" }\njobs: []`],
    ['invalid reference', `codearts:\n  auth: { token: "\${SENTINEL-TOKEN-123}" }\njobs: []`],
    ['YAML error on the token line', `codearts:\n  auth:\n    token: ${TOKEN}: more\njobs: []`],
    ['unclosed quote', `codearts:\n  auth:\n    token: "${TOKEN}\njobs: []`],
    ['stray scalar', `codearts:\n  auth: { token: x }\n- SENTINEL: "SENTINEL-TOKEN-123"\n`],
    ['bad escape', `codearts:\n  auth: { token: "${TOKEN}\\q" }\njobs: []`],
    ['LOG_LEVEL invalid', `codearts:\n  auth: { token: ${TOKEN} }\njobs: [{ id: x }]`, { LOG_LEVEL: 'nope' }],
  ];

  it.each(cases)('%s', (_name, text, env = {}) => {
    const error = configError(text, env);
    // The secret's own block (or the YAML, or LOG_LEVEL) must be what failed, not just `jobs: []`.
    expect(error.problems.some((line) => /^(codearts|yaml|log)/.test(line))).toBe(true);
    expect(error.message).not.toMatch(SECRET);
    expect(String(error.stack)).not.toMatch(SECRET);
    for (const line of error.problems) expect(line).not.toMatch(SECRET);
  });

  it('redactConfig masks every secret kind and describeConfig shows none', () => {
    const configs = [
      parse(MINIMAL),
      parse(`codearts: { auth: { iam: { domain: d, user: u, password: SENTINEL-PASSWORD-456 } } }\njobs: [{ id: ${JOB_A} }]`),
      parse(`codearts: { auth: { aksk: { access_key: a, secret_key: SENTINEL-SK } } }\njobs: [{ id: ${JOB_A} }]`),
      parse(`codearts: { proxy: 'http://proxyuser:SENTINEL-PROXY-PW@proxy.example:3128', auth: { token: t } }\njobs: [{ id: ${JOB_A} }]`),
    ];
    for (const config of configs) {
      expect(JSON.stringify(redactConfig(config))).not.toMatch(SECRET);
      expect(JSON.stringify(redactConfig(config))).toContain('"***"');
      expect(describeConfig(config)).not.toMatch(SECRET);
      expect(JSON.stringify(config)).toMatch(SECRET);
    }
  });

  it('describeConfig is one line with the essentials', () => {
    expect(describeConfig(parse(MINIMAL))).toBe(
      'endpoint=https://cloudbuild-ext.cn-north-4.myhuaweicloud.com api=v4 auth=token jobs=1 schedule="*/30 * * * * *" timezone=UTC port=10987',
    );
  });
});

describe('loadConfig', () => {
  it('loads the file argument', async () => {
    const file = tempFile('a.yml', MINIMAL);
    await expect(loadConfig({ file, env: {} })).resolves.toMatchObject({ jobs: [{ id: JOB_A }] });
  });

  it('falls back to CODEARTS_EXPORTER_CONFIG', async () => {
    const file = tempFile('b.yml', MINIMAL.replace(JOB_A, JOB_B));
    await expect(loadConfig({ env: { CODEARTS_EXPORTER_CONFIG: file } })).resolves.toMatchObject({ jobs: [{ id: JOB_B }] });
  });

  it('reports an unreadable file as a ConfigError', async () => {
    const file = join(tmp, 'nope.yml');
    const error = await loadConfig({ file, env: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([`config: cannot read file ${JSON.stringify(file)} (ENOENT)`]);
    expect((error as ConfigError).source).toBe(file);
  });

  it('accepts the shipped example config/exporter.yml (the default path)', async () => {
    const config = await loadConfig({ env: { CODEARTS_TOKEN: TOKEN } });
    expect(config.codearts.auth).toEqual({ kind: 'token', token: TOKEN });
    expect(config.jobs).toHaveLength(2);
    const defaults = parse(MINIMAL);
    expect({ ...config, jobs: defaults.jobs }).toEqual(defaults);
  });

  it('rejects the example config without CODEARTS_TOKEN', async () => {
    const error = await loadConfig({ file: 'config/exporter.yml', env: {} }).catch((e: unknown) => e);
    expect((error as ConfigError).problems).toEqual(['codearts.auth.token: environment variable CODEARTS_TOKEN is not set']);
  });
});
