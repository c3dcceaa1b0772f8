import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { canonicalUri, signRequest } from '../../src/codearts/auth/aksk-signer.js';

// The official signer, test-only (it pulls in moment, lodash, axios, log4js at runtime).
const require = createRequire(import.meta.url);
const { AKSKSigner } = require('@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner') as {
  AKSKSigner: {
    sign(
      request: {
        endpoint: string;
        method: string;
        headers: Record<string, string>;
        queryParams?: Record<string, string | string[]>;
        data?: unknown;
      },
      credential: { getAk(): string; getSk(): string },
    ): Record<string, string>;
  };
};

const CASES = 300;

/** mulberry32: small, seedable, good enough to spread test cases. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Case {
  method: 'GET' | 'POST';
  base: string;
  /** Decoded path segments; '' makes empty segments (leading, doubled or trailing slashes). */
  segments: string[];
  /** How the client puts the path on the wire: fully percent-encoded, or as WHATWG URL leaves it. */
  pathStyle: 'encoded' | 'literal';
  query: Array<[string, string]>;
  queryStyle: 'searchParams' | 'percent';
  /** Lower-case names, as AuthProvider.authorize receives them. */
  headers: Record<string, string>;
  body: unknown;
  now: Date;
  accessKey: string;
  secretKey: string;
}

const BASES = [
  'https://cloudbuild-ext.cn-north-4.myhuaweicloud.com',
  'https://cloudbuild-ext.ap-southeast-3.myhuaweicloud.com',
  'http://127.0.0.1:18080',
  'https://codearts-sim.internal:8443',
];
// Characters legacy url.parse (the SDK's path source) leaves alone. It pre-escapes space " ' < > \
// ^ ` { | }, which the SDK then encodes twice (see the divergence tests below). '%' only in encoded
// paths: a literal '%41' on the wire means 'A'.
const PATH_ODD = [
  '!',
  '$',
  '&',
  '(',
  ')',
  '*',
  '+',
  ',',
  ';',
  '=',
  ':',
  '@',
  '[',
  ']',
  '~',
  '-',
  '_',
  '.',
  'é',
  'ß',
  '中',
  '文',
  '😀',
  '%',
];
const QUERY_ODD = [
  ' ',
  '&',
  '=',
  '+',
  '%',
  '/',
  '?',
  '#',
  '!',
  '*',
  "'",
  '(',
  ')',
  'é',
  '中',
  '😀',
  '~',
  '"',
  '<',
  '[',
  ';',
  ':',
  '@',
  ',',
];
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const HEX = '0123456789abcdef';

function generateCase(rand: () => number): Case {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const int = (min: number, max: number) => min + Math.floor(rand() * (max - min + 1));
  const word = (alphabet: string, min: number, max: number) =>
    Array.from({ length: int(min, max) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
  const pathStyle = rand() < 0.5 ? 'encoded' : 'literal';
  const odd = (chars: readonly string[], min: number, max: number) =>
    Array.from({ length: int(min, max) }, () => (rand() < 0.4 ? pick(chars) : pick(ALNUM.split('')))).join('');
  const pathChars = pathStyle === 'encoded' ? PATH_ODD : PATH_ODD.filter((c) => c !== '%');
  // '.' and '..' segments are resolved away by URL (fetch never sends them); url.parse keeps them.
  const segment = (min: number, max: number) => {
    for (;;) {
      const s = odd(pathChars, min, max);
      if (s !== '.' && s !== '..') return s;
    }
  };

  const jobId = word(HEX, 32, 32);
  const segments = pick([
    () => ['', 'v4', 'jobs', jobId, String(int(1, 99_999)), 'record-info'],
    () => ['', 'v1', 'record', jobId, String(int(1, 500)), 'record-info'],
    () => ['', 'v1', 'job', jobId, 'running-status'],
    () => ['', 'v4', 'jobs', segment(1, 12), String(int(1, 9)), 'record-info'],
    () => ['', ...Array.from({ length: int(1, 5) }, () => segment(0, 10))],
    () => ['', 'v3', segment(1, 6), ''],
    () => [''],
  ])();

  const keys = ['limit', 'offset', 'page_index', 'build_no', 'tag', 'a', 'A', 'z', 'b-c', 'b_c', 'k.v', '~k'];
  const query: Array<[string, string]> = [];
  for (let i = int(0, 6); i > 0; i--) {
    const key = rand() < 0.8 ? pick(keys) : odd(QUERY_ODD, 1, 6);
    const value = rand() < 0.2 ? '' : rand() < 0.5 ? String(int(0, 1000)) : odd(QUERY_ODD, 1, 12);
    query.push([key, value]);
    if (rand() < 0.3) query.push([key, rand() < 0.3 ? '' : odd(QUERY_ODD, 0, 8)]);
  }

  const method = rand() < 0.6 ? 'GET' : 'POST';
  const base = pick(BASES);
  const headers: Record<string, string> = {};
  if (rand() < 0.6) headers.host = new URL(base).host;
  if (rand() < 0.5) headers.accept = 'application/json';
  if (rand() < 0.6) headers['x-project-id'] = word(HEX, 32, 32);
  if (method === 'POST' || rand() < 0.3)
    headers['content-type'] = pick(['application/json', 'application/json;charset=UTF-8', 'application/json; charset=utf-8']);
  if (rand() < 0.3) headers['x-language'] = pick(['en-us', 'zh-cn']);
  if (rand() < 0.2) headers['x-request-id'] = word(ALNUM, 8, 24);
  if (rand() < 0.2) headers['user-agent'] = 'codearts-build-exporter/0.1.0 (node)';
  if (method === 'GET' && rand() < 0.2) headers['x-sdk-content-sha256'] = 'UNSIGNED-PAYLOAD';

  const body =
    method === 'POST' && rand() < 0.85
      ? {
          job_id: jobId,
          build_no: int(1, 9999),
          parameter: Array.from({ length: int(0, 3) }, () => ({ name: odd(QUERY_ODD, 1, 6), value: odd(QUERY_ODD, 0, 10) })),
          scm: rand() < 0.5 ? { branch: `feature/${odd(QUERY_ODD, 1, 8)}`, commit: word(HEX, 40, 40) } : null,
          flag: rand() < 0.5,
          ratio: rand(),
        }
      : undefined;

  return {
    method,
    base,
    segments,
    pathStyle,
    query,
    queryStyle: rand() < 0.5 ? 'searchParams' : 'percent',
    headers,
    body,
    now: new Date(Date.UTC(2020, 0, 1) + Math.floor(rand() * 10 * 365 * 86_400) * 1000),
    accessKey: word('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 20, 20),
    secretKey: word(ALNUM, 40, 40),
  };
}

/** The URL our HTTP client would fetch. */
function wireUrl(c: Case): URL {
  const url = new URL(c.base);
  const path = c.segments.join('/') || '/';
  url.pathname = c.pathStyle === 'encoded' ? c.segments.map(encodeURIComponent).join('/') || '/' : path;
  if (c.queryStyle === 'searchParams') {
    for (const [k, v] of c.query) url.searchParams.append(k, v);
  } else if (c.query.length > 0) {
    url.search = c.query
      .map(([k, v]) => (v === '' ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`))
      .join('&');
  }
  return url;
}

/** The same request as the official SDK's HcClient hands it to the signer. */
function officialSign(c: Case): Record<string, string> {
  const queryParams: Record<string, string | string[]> = {};
  for (const [k, v] of c.query) {
    const existing = queryParams[k];
    queryParams[k] = existing === undefined ? v : Array.isArray(existing) ? [...existing, v] : [existing, v];
  }
  const sdkNames: Record<string, string> = {
    accept: 'Accept',
    'x-project-id': 'X-Project-Id',
    'x-language': 'X-Language',
    'x-request-id': 'X-Request-Id',
    'user-agent': 'User-Agent',
    'x-sdk-content-sha256': 'X-Sdk-Content-Sha256',
  };
  const headers = Object.fromEntries(Object.entries(c.headers).map(([k, v]) => [sdkNames[k] ?? k, v]));
  vi.setSystemTime(c.now);
  return AKSKSigner.sign(
    {
      endpoint: c.base + (c.segments.join('/') || '/'),
      method: c.method,
      headers,
      queryParams,
      ...(c.body === undefined ? {} : { data: c.body }),
    },
    { getAk: () => c.accessKey, getSk: () => c.secretKey },
  );
}

function ourSign(c: Case): Record<string, string> {
  return signRequest(
    {
      method: c.method,
      url: wireUrl(c),
      headers: { ...c.headers },
      ...(c.body === undefined ? {} : { body: JSON.stringify(c.body) }),
    },
    { accessKey: c.accessKey, secretKey: c.secretKey },
    c.now,
  );
}

describe('signRequest is byte-identical to the official AKSKSigner', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const rand = prng(0x5eed_4242);
  const cases = Array.from({ length: CASES }, () => generateCase(rand));

  it(`generates ${CASES} varied requests`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(250);
    const paths = cases.map((c) => wireUrl(c).pathname);
    expect(paths.some((p) => /^\/v4\/jobs\/[0-9a-f]{32}\/\d+\/record-info$/.test(p))).toBe(true);
    expect(paths.some((p) => /%[0-9A-F]{2}/.test(p))).toBe(true);
    expect(cases.some((c) => new Set(c.query.map(([k]) => k)).size < c.query.length)).toBe(true);
    expect(cases.some((c) => c.query.some(([, v]) => v === ''))).toBe(true);
    expect(cases.some((c) => c.body !== undefined)).toBe(true);
    expect(cases.some((c) => 'x-project-id' in c.headers && 'content-type' in c.headers)).toBe(true);
  });

  it.each(cases.map((c, i) => [i, c] as const))('case %i', (_i, c) => {
    const official = officialSign(c);
    const ours = ourSign(c);
    expect(ours.Authorization).toBe(official.Authorization);
    expect(ours['X-Sdk-Date']).toBe(official['X-Sdk-Date']);
    // The SDK also returns `host`; fetch sends exactly url.host, which is what we sign.
    expect(official.host).toBe(c.headers.host ?? wireUrl(c).host);
  });
});

describe('where the official signer does not match the wire, we follow the wire', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a space in a path segment: url.parse escapes it first, so the SDK signs %2520; the gateway decodes and re-encodes', () => {
    expect(canonicalUri('/v4/jobs/a%20b/1/record-info')).toBe('/v4/jobs/a%20b/1/record-info/');
    vi.setSystemTime(new Date('2024-05-01T10:00:00Z'));
    const sdk = AKSKSigner.sign(
      { endpoint: 'https://h.example.com/v4/jobs/a b/1/record-info', method: 'GET', headers: {} },
      { getAk: () => 'AK', getSk: () => 'SK' },
    );
    const ours = signRequest(
      { method: 'GET', url: new URL('https://h.example.com/v4/jobs/a%20b/1/record-info'), headers: {} },
      { accessKey: 'AK', secretKey: 'SK' },
      new Date('2024-05-01T10:00:00Z'),
    );
    expect(ours.Authorization).not.toBe(sdk.Authorization);
  });

  it('header values are signed trimmed, as fetch sends them', () => {
    const url = new URL('https://h.example.com/x');
    const now = new Date('2024-05-01T10:00:00Z');
    const padded = signRequest({ method: 'GET', url, headers: { 'x-project-id': '  p1 ' } }, { accessKey: 'AK', secretKey: 'SK' }, now);
    const plain = signRequest({ method: 'GET', url, headers: { 'x-project-id': 'p1' } }, { accessKey: 'AK', secretKey: 'SK' }, now);
    expect(padded.Authorization).toBe(plain.Authorization);
  });

  it('an explicit default port is not signed (fetch does not send it; url.parse keeps it)', () => {
    const now = new Date('2024-05-01T10:00:00Z');
    const a = signRequest(
      { method: 'GET', url: new URL('https://h.example.com:443/x'), headers: {} },
      { accessKey: 'AK', secretKey: 'SK' },
      now,
    );
    const b = signRequest(
      { method: 'GET', url: new URL('https://h.example.com/x'), headers: {} },
      { accessKey: 'AK', secretKey: 'SK' },
      now,
    );
    expect(a.Authorization).toBe(b.Authorization);
  });
});
