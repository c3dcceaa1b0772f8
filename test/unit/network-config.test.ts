import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, parseConfigText } from '../../src/config/load.js';

const JOB = '0123456789abcdef0123456789abcdef';
const tmp = mkdtempSync(join(tmpdir(), 'network-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const config = (codearts: string, poll = '') =>
  `codearts:\n  auth: { token: t }\n${codearts}\n${poll ? `poll:\n${poll}\n` : ''}jobs: [{ id: ${JOB} }]\n`;

function problems(text: string): string[] {
  try {
    parseConfigText(text, { env: {}, source: 'test.yml' });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the config to be invalid');
}

describe('network config keys', () => {
  it('accepts a proxy with credentials, a PEM CA file, a body cap, breaker and watchdog settings', () => {
    const ca = join(tmp, 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const parsed = parseConfigText(
      config(
        `  proxy: http://user:SENTINEL-PW@proxy.corp:3128\n  ca_file: ${ca}\n  max_response_bytes: 65536\n  breaker_failures: 0`,
        '  watchdog_periods: 5',
      ),
      { env: {} },
    );
    expect(parsed.codearts).toMatchObject({
      proxy: 'http://user:SENTINEL-PW@proxy.corp:3128',
      ca_file: ca,
      max_response_bytes: 65536,
      breaker_failures: 0,
    });
    expect(parsed.poll.watchdog_periods).toBe(5);
    expect(describeConfig(parsed)).toContain('proxy=http://***@proxy.corp:3128');
    expect(describeConfig(parsed)).not.toContain('SENTINEL');
  });

  it.each([
    ['  proxy: socks5://proxy:1080', 'codearts.proxy: must be an http(s) proxy URL'],
    ['  proxy: proxy.corp:3128', 'codearts.proxy: must be an http(s) proxy URL'],
    [
      '  proxy: http://u:SENTINEL@proxy.corp:3128/path',
      'codearts.proxy: must be scheme://[user:password@]host:port without a path or query',
    ],
    ['  proxy: not a url', 'codearts.proxy: must be a proxy URL such as http://proxy.example.com:3128'],
    ['  max_response_bytes: 100', 'codearts.max_response_bytes: must be >= 1024'],
    ['  breaker_failures: -1', 'codearts.breaker_failures: must be >= 0'],
  ])('%s is refused naming the key, never echoing the value', (line, expected) => {
    const found = problems(config(line));
    expect(found).toContain(expected);
    for (const problem of found) expect(problem).not.toContain('SENTINEL');
  });

  it('ca_file must be readable and hold a PEM certificate', () => {
    const notPem = join(tmp, 'key.txt');
    writeFileSync(notPem, 'hello');
    expect(problems(config(`  ca_file: ${join(tmp, 'missing.pem')}`))).toEqual([
      `codearts.ca_file: cannot read file "${join(tmp, 'missing.pem')}" (ENOENT)`,
    ]);
    expect(problems(config(`  ca_file: ${notPem}`))).toEqual([
      `codearts.ca_file: file "${notPem}" holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
    ]);
  });

  it('watchdog_periods is a whole number >= 0', () => {
    expect(problems(config('', '  watchdog_periods: 1.5'))).toEqual(['poll.watchdog_periods: must be an integer']);
  });
});
