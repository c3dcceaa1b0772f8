import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CommandIo } from '../../src/commands/io.js';
import { EXIT_INVALID_CONFIG } from '../../src/commands/io.js';
import { runCli } from '../../src/commands/program.js';

const TOKEN = 'SENTINEL-TOKEN-123';
const JOB = '0123456789abcdef0123456789abcdef';

const tmp = mkdtempSync(join(tmpdir(), 'cli-validate-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function configFile(name: string, text: string): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
}

const VALID = configFile('valid.yml', `codearts:\n  auth: { token: ${TOKEN} }\njobs: [{ id: ${JOB} }]\n`);
const INVALID = configFile(
  'invalid.yml',
  `codearts:\n  auth: { token: ${TOKEN}, iam: { domain: d, user: u, password: SENTINEL-PASSWORD } }\n  retry: { min_delay: 1s, max_delay: 0.5 }\npoll: { schedule: "every day" }\njobs: [{ id: ${JOB} }, { id: ${JOB} }]\n`,
);

async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CommandIo = { env, stdout: (line) => stdout.push(line), stderr: (line) => stderr.push(line) };
  const code = await runCli(['validate', ...args], { io });
  return { code, stdout, stderr };
}

describe('validate command (in-process)', () => {
  it('prints a one-line summary and exits 0 for a valid config', async () => {
    const result = await run(['--config', VALID]);
    expect(result).toEqual({
      code: 0,
      stdout: [
        'config OK: endpoint=https://cloudbuild-ext.cn-north-4.myhuaweicloud.com api=v4 auth=token jobs=1 schedule="*/30 * * * * *" timezone=UTC port=10987',
        'requests to CodeArts: ~0.044/s for 1 static job polled every 30 s (~1.33 per job and cycle); codearts.max_requests_per_second 10 carries about 225 jobs at this schedule',
      ],
      stderr: [],
    });
  });

  it('prints the path and one line per problem, exit 2, without secrets', async () => {
    const result = await run(['-c', INVALID]);
    expect(result.code).toBe(EXIT_INVALID_CONFIG);
    expect(result.stdout).toEqual([]);
    expect(result.stderr).toEqual([
      `config invalid: ${INVALID}`,
      'codearts.auth: exactly one of token, iam, aksk is required (got token, iam)',
      'codearts.retry.max_delay: must be >= min_delay (1s)',
      'poll.schedule: invalid cron expression "every day"',
      'jobs[1].id: duplicate job id (same as jobs[0].id)',
    ]);
    expect(result.stderr.join('\n')).not.toMatch(/SENTINEL/);
  });

  it('never prints a secret, whatever is wrong with it', async () => {
    const cases = [
      `codearts: { auth: { token: [${TOKEN}] } }\njobs: [{ id: ${JOB} }]`,
      `codearts: { auth: { token: "${TOKEN}\\n" } }\njobs: [{ id: ${JOB} }]`,
      `codearts:\n  auth:\n    token: ${TOKEN}: x\njobs: [{ id: ${JOB} }]`,
      `codearts: { endpoint: "https://u:SENTINEL@h", auth: { token: ${TOKEN} } }\njobs: []`,
    ];
    for (const [i, text] of cases.entries()) {
      const result = await run(['--config', configFile(`secret-${i}.yml`, text)]);
      expect(result.code).toBe(EXIT_INVALID_CONFIG);
      expect(result.stderr.length).toBeGreaterThan(1);
      expect([...result.stdout, ...result.stderr].join('\n')).not.toMatch(/SENTINEL/);
    }
  });

  it('uses CODEARTS_EXPORTER_CONFIG when --config is absent', async () => {
    const result = await run([], { CODEARTS_EXPORTER_CONFIG: VALID });
    expect(result.code).toBe(0);
  });

  it('reports an unreadable file', async () => {
    const missing = join(tmp, 'missing.yml');
    const result = await run(['--config', missing]);
    expect(result.code).toBe(EXIT_INVALID_CONFIG);
    expect(result.stderr).toEqual([`config invalid: ${missing}`, `config: cannot read file ${JSON.stringify(missing)} (ENOENT)`]);
  });

  it.each([[['--bogus']], [['--config']], [['extra-positional']]])('rejects bad arguments %j with exit 2', async (args) => {
    const result = await run(args);
    expect(result.code).toBe(EXIT_INVALID_CONFIG);
    expect(result.stderr.at(-1)).toMatch(/^usage: /);
  });

  it('accepts the shipped config/exporter.yml when CODEARTS_TOKEN is set', async () => {
    const result = await run(['--config', 'config/exporter.yml'], { CODEARTS_TOKEN: TOKEN });
    expect(result.stderr).toEqual([]);
    expect(result.stdout).toEqual([
      expect.stringMatching(/^config OK: .* auth=token jobs=2 /),
      expect.stringMatching(/^requests to CodeArts: /),
    ]);
    expect(result.stdout[0]).not.toContain(TOKEN);
  });
});

// Quoted: an all-digit id would be read as a number.
const jobs = (n: number) => Array.from({ length: n }, (_, i) => `{ id: "${i.toString(16).padStart(32, '0')}" }`).join(', ');

describe('validate: the request rate the config implies', () => {
  it('says the defaults (10 requests/s, a cycle every 30 s) carry about 225 jobs, and warns above that', async () => {
    const fits = await run(['--config', configFile('225.yml', `codearts: { auth: { token: ${TOKEN} } }\njobs: [${jobs(225)}]\n`)]);
    expect(fits.code).toBe(0);
    expect(fits.stdout[1]).toBe(
      'requests to CodeArts: ~10/s for 225 static jobs polled every 30 s (~1.33 per job and cycle); codearts.max_requests_per_second 10 carries about 225 jobs at this schedule',
    );
    expect(fits.stderr).toEqual([]);
    const over = await run(['--config', configFile('500.yml', `codearts: { auth: { token: ${TOKEN} } }\njobs: [${jobs(500)}]\n`)]);
    expect(over.code).toBe(0);
    expect(over.stdout[1]).toMatch(/^requests to CodeArts: ~22.2\/s for 500 static jobs polled every 30 s .* carries about 225 jobs/);
    expect(over.stderr).toEqual([
      'warning: poll.schedule cannot be met within the request budget: 500 jobs need ~667 requests per cycle, 67 s at codearts.max_requests_per_second 10, ' +
        'but a cycle starts every 30 s: ticks will be skipped (codearts_exporter_skipped_polls_total). Raise max_requests_per_second to at least 23 ' +
        'if your CodeArts quota allows, or poll less often.',
    ]);
    // A higher budget or a longer period makes it fit.
    for (const settings of [
      'codearts: { auth: { token: T }, max_requests_per_second: 25 }',
      'codearts: { auth: { token: T } }\npoll: { schedule: "0 */2 * * * *" }',
    ]) {
      const result = await run(['--config', configFile('fit.yml', `${settings.replace('T', TOKEN)}\njobs: [${jobs(500)}]\n`)]);
      expect(result.stderr).toEqual([]);
    }
  });

  it('says that jobs discovered in projects add to the rate', async () => {
    const result = await run([
      '--config',
      configFile('projects.yml', `codearts: { auth: { token: ${TOKEN} } }\nprojects: [{ id: ${'f'.repeat(32)} }]\njobs: [${jobs(3)}]\n`),
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout[1]).toContain(
      'for 3 static jobs polled every 30 s (~1.33 per job and cycle; the jobs discovered in 1 project add to it)',
    );
  });

  it('warns that a 5-field cron expression counts in minutes', async () => {
    const result = await run([
      '--config',
      configFile('minutes.yml', `codearts: { auth: { token: ${TOKEN} } }\npoll: { schedule: "*/30 * * * *" }\njobs: [${jobs(1)}]\n`),
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout[1]).toContain('polled every 30 min');
    expect(result.stderr).toEqual([
      'warning: poll.schedule "*/30 * * * *" has 5 fields, so its first field is minutes: a cycle every 30 min. ' +
        'A 6-field expression starts with seconds. For every 30 seconds, write "*/30 * * * * *".',
    ]);
    const seconds = await run([
      '--config',
      configFile('seconds.yml', `codearts: { auth: { token: ${TOKEN} } }\npoll: { schedule: "*/30 * * * * *" }\njobs: [${jobs(1)}]\n`),
    ]);
    expect(seconds.stderr).toEqual([]);
  });
});

// The built CLI is only present after `npm run build`; `npm test` builds first.
const built = existsSync('dist/cli.js') && existsSync('dist/commands/validate.js');
if (!built) console.warn('\n*** SKIPPING the dist/cli.js validate spawn test: run `npm run build` first ***\n');

describe.skipIf(!built)('validate command (built CLI)', () => {
  it('exits 2 with the problems on stderr and no stack trace', () => {
    const result = spawnSync(process.execPath, ['dist/cli.js', 'validate', '--config', INVALID], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    expect(result.status).toBe(EXIT_INVALID_CONFIG);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`config invalid: ${INVALID}\n`);
    expect(result.stderr).toContain('jobs[1].id: duplicate job id (same as jobs[0].id)\n');
    expect(result.stderr).not.toMatch(/SENTINEL|\n\s+at /);
  });

  it('exits 0 for a valid config', () => {
    const result = spawnSync(process.execPath, ['dist/cli.js', 'validate', '--config', VALID], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^config OK: /);
  });
});
