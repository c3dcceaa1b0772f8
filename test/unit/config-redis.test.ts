import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText, redactConfig } from '../../src/config/load.js';
import { redisOptions } from '../../src/state/redis-connection.js';

const BASE = `
codearts:
  auth:
    token: SENTINEL-TOKEN-123
jobs:
  - id: 0123456789abcdef0123456789abcdef
`;

function problems(state: string, readFile?: (path: string) => string): string[] {
  try {
    parseConfigText(`${BASE}state:\n${state}\n`, { env: {}, ...(readFile ? { readFile } : {}) });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('state.backend: redis', () => {
  it('defaults to the file store; redis takes url, prefix cbe:, a 30 s lease', () => {
    expect(parseConfigText(BASE, { env: {} }).state).toMatchObject({ backend: 'file', redis: undefined });
    const config = parseConfigText(`${BASE}state:\n  backend: redis\n  redis:\n    url: redis://redis:6379/0\n`, { env: {} });
    expect(config.state.redis).toEqual({ url: 'redis://redis:6379/0', key_prefix: 'cbe:', lease_ms: 30_000, password: undefined });
  });

  it('reads the password from the environment or a *_file, and never shows it', () => {
    const fromEnv = parseConfigText(
      `${BASE}state:\n  backend: redis\n  redis:\n    url: rediss://r:6380\n    password: \${REDIS_PASSWORD}\n`,
      {
        env: { REDIS_PASSWORD: 'SENTINEL-REDIS-PW' },
      },
    );
    expect(fromEnv.state.redis?.password).toBe('SENTINEL-REDIS-PW');
    expect(JSON.stringify(redactConfig(fromEnv))).not.toContain('SENTINEL-REDIS-PW');
    const fromFile = parseConfigText(`${BASE}state:\n  backend: redis\n  redis:\n    url: redis://r\n    password_file: /run/pw\n`, {
      env: {},
      readFile: () => 'SENTINEL-FILE-PW\n',
    });
    expect(fromFile.state.redis?.password).toBe('SENTINEL-FILE-PW');
  });

  it('names the key on bad input', () => {
    expect(problems('  backend: redis')).toEqual([expect.stringMatching(/^state\.redis: is required with backend: redis/)]);
    expect(problems('  backend: redis\n  redis:\n    url: http://r')).toEqual([
      expect.stringMatching(/^state\.redis\.url: must be a redis:\/\//),
    ]);
    expect(problems('  backend: redis\n  redis:\n    url: redis://r\n    password: a\n    password_file: /p')).toEqual([
      'state.redis.password: give password or password_file, not both',
    ]);
    expect(problems('  backend: sql')).toEqual([expect.stringMatching(/^state\.backend: /)]);
  });

  it('turns a redis+sentinel:// URL into the sentinels and the master name', () => {
    expect(redisOptions({ url: 'redis+sentinel://s1:26379,s2/mymaster' })).toMatchObject({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      name: 'mymaster',
    });
    expect(() => redisOptions({ url: 'redis+sentinel://:1/x' })).toThrow(/state\.redis\.url/);
  });
});
