import { describe, expect, it } from 'vitest';
import { DEFAULT_PORT } from '../../src/config/schema.js';
import { healthzUrl } from '../../src/healthcheck.js';

describe('healthcheck: the /healthz URL from the config file', () => {
  it('probes loopback on the default port when the config sets no server', () => {
    expect(healthzUrl('jobs: []\n', {})).toBe(`http://127.0.0.1:${DEFAULT_PORT}/healthz`);
    expect(healthzUrl('', {})).toBe(`http://127.0.0.1:${DEFAULT_PORT}/healthz`);
  });

  it('follows server.port and probes loopback for wildcard hosts', () => {
    for (const host of ['0.0.0.0', '::', "''"]) {
      expect(healthzUrl(`server:\n  host: ${host === '::' ? '"::"' : host}\n  port: 9200\n`, {})).toBe('http://127.0.0.1:9200/healthz');
    }
  });

  it('probes a specific listen address as written, IPv6 in brackets', () => {
    expect(healthzUrl('server: { host: 127.0.0.2, port: 9200 }', {})).toBe('http://127.0.0.2:9200/healthz');
    expect(healthzUrl('server: { host: "::1", port: 9200 }', {})).toBe('http://[::1]:9200/healthz');
  });

  it('expands ${VAR} in the server section only, so unrelated unset variables do not matter', () => {
    const text = 'codearts:\n  auth:\n    token: ${UNSET_TOKEN}\nserver:\n  port: ${METRICS_PORT:-9300}\n';
    expect(healthzUrl(text, {})).toBe('http://127.0.0.1:9300/healthz');
    expect(healthzUrl(text, { METRICS_PORT: '9400' })).toBe('http://127.0.0.1:9400/healthz');
  });

  it('fails with a message naming the key for a port it cannot probe or an unset variable', () => {
    expect(() => healthzUrl('server: { port: 0 }', {})).toThrow(/server\.port/);
    expect(() => healthzUrl('server: { port: http }', {})).toThrow(/server\.port/);
    expect(() => healthzUrl('server: { port: "${NOPE}" }', {})).toThrow(/server: environment variable NOPE is not set/);
  });

  it('reports a YAML error by position, never quoting the text (it may hold a secret)', () => {
    expect(() => healthzUrl('codearts:\n  auth: { token: SENTINEL-abc\n', {})).toThrow(/^yaml: line \d+, column \d+ \(\w+\)$/);
    try {
      healthzUrl('codearts:\n  auth: { token: SENTINEL-abc\n', {});
    } catch (error) {
      expect((error as Error).message).not.toContain('SENTINEL');
    }
  });
});
