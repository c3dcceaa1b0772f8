/**
 * The command line as a user meets it: `node dist/cli.js` spawned, exit codes and output checked.
 * Help and version, suggestions for misspelt config keys, day/week durations, the log formats,
 * and a clear JSON log line when the listen port is taken.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, DEFAULT_TOKEN, type Simulator } from '../../src/simulator/index.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');
const VERSION = (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
const TOKEN = 'SENTINEL-CLI-TOKEN';
const JOB = '0123456789abcdef0123456789abcdef';
const COMMANDS = ['run', 'validate', 'once', 'simulate'] as const;

const tmp = mkdtempSync(join(tmpdir(), 'cli-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI without blocking the event loop (an in-process simulator must keep answering). */
function cli(args: string[], env: NodeJS.ProcessEnv = {}, timeout = 20_000): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env.PATH, ...env }, timeout, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function configFile(name: string, text: string): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
}

describe('version and help', () => {
  it.each([['--version'], ['-V'], ['version']])('%s prints the package version and exits 0', async (flag) => {
    expect(await cli([flag])).toEqual({ code: 0, stdout: `codearts-build-exporter ${VERSION}\n`, stderr: '' });
  });

  it.each([['help'], ['--help'], ['-h']])('%s lists every command, the environment and the exit codes', async (flag) => {
    const { code, stdout, stderr } = await cli([flag]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    for (const command of [...COMMANDS, 'version', 'help']) expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    expect(stdout).toContain('LOG_LEVEL');
    expect(stdout).toContain('LOG_FORMAT');
    expect(stdout).toContain('CODEARTS_EXPORTER_CONFIG');
    expect(stdout).toMatch(/Exit codes:\n {2}0 {2}success\n {2}1 {2}runtime failure.+\n {2}2 {2}invalid config or arguments/);
  });

  describe.each(COMMANDS)('%s', (command) => {
    it.each([[[command, '--help']], [[command, '-h']], [['help', command]]])(
      '%j prints its usage, options and exit codes',
      async (args) => {
        const { code, stdout, stderr } = await cli(args);
        expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
        expect(stdout).toContain(`Usage: codearts-build-exporter ${command} [options]`);
        expect(stdout).toContain('Exit codes:');
        if (command === 'simulate') expect(stdout).toContain('--every <seconds>');
        else expect(stdout).toContain('-c, --config <file>');
      },
    );
  });

  it('rejects an unknown command with exit 2 and a suggestion', async () => {
    const { code, stderr } = await cli(['valdate']);
    expect(code).toBe(2);
    expect(stderr).toContain("unknown command 'valdate' (did you mean 'validate'?)");
  });

  it('rejects an unknown option with exit 2, naming it and pointing at --help', async () => {
    const { code, stderr } = await cli(['once', '--confg', 'x.yml']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^once: unknown option '--confg'[^]*usage: codearts-build-exporter once \[options\] \(--help for details\)\n$/);
  });

  it('runs `run` when no command is given, passing --config on', async () => {
    const bad = configFile('no-jobs.yml', `codearts: { auth: { token: ${TOKEN} } }\n`);
    const { code, stderr } = await cli(['--config', bad]);
    expect(code).toBe(2);
    expect(stderr).toContain('jobs: at least one job is required');
    expect(stderr).not.toContain(TOKEN);
  });
});

describe('config help', () => {
  it('suggests the closest key for a misspelt one', async () => {
    const file = configFile(
      'typo.yml',
      `codearts:\n  auth: { token: ${TOKEN} }\n  max_concurency: 4\njobs:\n  - { id: ${JOB}, nmae: backend }\n`,
    );
    const { code, stderr } = await cli(['validate', '--config', file]);
    expect(code).toBe(2);
    expect(stderr.split('\n')).toEqual([
      `config invalid: ${file}`,
      'codearts.max_concurency: unknown key (did you mean "max_concurrency"?)',
      'jobs[0].nmae: unknown key (did you mean "name"?)',
      '',
    ]);
  });

  it('accepts durations in days and weeks', async () => {
    const file = configFile(
      'days.yml',
      `codearts: { auth: { token: ${TOKEN} } }\njobs: [{ id: ${JOB} }]\npoll: { removed_job_grace: 1d }\nstate: { keep_removed_jobs: 7d }\n`,
    );
    const { code, stdout } = await cli(['validate', '--config', file]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^config OK: /);
    const weeks = configFile(
      'weeks.yml',
      `codearts: { auth: { token: ${TOKEN} } }\njobs: [{ id: ${JOB} }]\nstate: { keep_removed_jobs: 2w }\n`,
    );
    expect((await cli(['validate', '--config', weeks])).code).toBe(0);
  });
});

describe('a taken listen port', () => {
  let blocker: Server;
  let port = 0;

  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    port = (blocker.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  it('exits 1 with a JSON log line naming host:port, not a plain-text crash', async () => {
    const file = configFile(
      'port.yml',
      `codearts: { endpoint: 'http://127.0.0.1:9', auth: { token: ${TOKEN} } }\njobs: [{ id: ${JOB} }]\n` +
        `server: { host: 127.0.0.1, port: ${port} }\nstate: { path: ${join(tmp, 'port-state.json')} }\n`,
    );
    const { code, stdout, stderr } = await cli(['run', '--config', file]);
    expect(code).toBe(1);
    expect(stderr).toBe('');
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const fatal = lines.at(-1);
    expect(fatal).toMatchObject({ level: 'fatal', host: '127.0.0.1', port });
    expect(String(fatal?.msg)).toBe(
      `cannot listen on 127.0.0.1:${port}: address already in use (another process listens on port ${port}; stop it or change server.port)`,
    );
    expect(stdout).not.toContain(TOKEN);
  });
});

describe('log formats', () => {
  let simulator: Simulator;
  let jobs: Array<{ id: string; name: string }>;

  beforeAll(async () => {
    simulator = await createSimulator({ seed: 5, jobs: 2 });
    jobs = simulator.jobs().map((job) => ({ id: job.id, name: job.name }));
  });
  afterAll(() => simulator.close());

  function onceConfig(name: string, log: Record<string, string>): string {
    const jobLines = jobs.map((job) => `  - { id: ${job.id}, name: ${job.name} }`).join('\n');
    const logBlock = Object.entries(log)
      .map(([key, value]) => `  ${key}: ${value}`)
      .join('\n');
    return configFile(
      name,
      `codearts:\n  endpoint: ${simulator.url}\n  auth: { token: ${DEFAULT_TOKEN} }\n  max_requests_per_second: 1000\npoll: { start_at: 1 }\njobs:\n${jobLines}\n` +
        `state: { path: ${join(tmp, `${name}.state.json`)} }\nlog:\n${logBlock}\n`,
    );
  }

  it('json (the default): one object per line, string levels, ISO 8601 time, snake_case fields, version at start-up', async () => {
    const { code, stdout, stderr } = await cli(['once', '--config', onceConfig('json.yml', { level: 'debug' })]);
    expect(code).toBe(0);
    expect(stdout).toContain('codearts_builds_total{');
    const lines = stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) {
      expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).toContain(line.level);
      expect(typeof line.time).toBe('string');
      expect(new Date(String(line.time)).toISOString()).toBe(line.time);
    }
    const starting = lines[0];
    expect(starting).toMatchObject({ level: 'info', msg: 'codearts-build-exporter starting', version: VERSION });
    expect(starting?.config).toMatchObject({ endpoint: simulator.url, auth: 'token', jobs: 2, log_format: 'json', log_level: 'debug' });
    const cycle = lines.find((line) => line.msg === 'poll cycle finished');
    expect(cycle).toMatchObject({ outcome: 'success', jobs_reached: 2, jobs_failed: 0 });
    expect(Number(cycle?.builds_counted)).toBeGreaterThan(0);
    // One naming style: no camelCase field names anywhere.
    const keys = lines.flatMap((line) => Object.keys(line));
    expect(keys.filter((key) => /[a-z][A-Z]/.test(key))).toEqual([]);
    expect(stderr).not.toContain(DEFAULT_TOKEN);
  });

  it('text (log.format in the file): human lines, level names, no JSON objects', async () => {
    const { code, stderr } = await cli(['once', '--config', onceConfig('text.yml', { level: 'info', format: 'text' })]);
    expect(code).toBe(0);
    const lines = stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(line).toMatch(/^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] (INFO|WARN|ERROR): \S/);
    expect(lines[0]).toMatch(new RegExp(`INFO: codearts-build-exporter starting .*"version":"${VERSION.replace(/\./g, '\\.')}"`));
    expect(stderr).toMatch(/INFO: poll cycle finished \{"event":"cycle_finished","outcome":"success","jobs_reached":2,/);
  });

  it('LOG_FORMAT=text overrides a json config', async () => {
    const { code, stderr } = await cli(['once', '--config', onceConfig('env.yml', { format: 'json' })], { LOG_FORMAT: 'text' });
    expect(code).toBe(0);
    expect(stderr).toMatch(/^\[[^\]]+\] INFO: codearts-build-exporter starting/);
    expect(stderr).not.toMatch(/^\{/m);
  });
});
