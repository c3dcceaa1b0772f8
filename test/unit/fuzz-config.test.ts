import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { ConfigError, parseConfigText } from '../../src/config/load.js';

/**
 * Acceptance 2 of issue 5 (config fuzzing). The example config, mutated as a tree (keys deleted,
 * renamed, added; values of the wrong type, absurd or hostile) and as text (lines dropped,
 * duplicated, swapped, stray YAML syntax, truncation, alias cycles), with odd environments:
 * parsing always ends in a Config or a ConfigError with one `path: message` line per problem,
 * never another exception and never the secret. A spawned `validate` on a sample of the same files
 * exits 0 or 2 and never prints a stack trace.
 */
const EXAMPLE = readFileSync(new URL('../../config/exporter.yml', import.meta.url), 'utf8');
const TREE = parseYaml(EXAMPLE) as Record<string, unknown>;
const SENTINEL = 'SENTINEL-CONFIG-TOKEN-4242';
const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const CLI_FILES = Number(process.env.FUZZ_CLI_FILES ?? 30);
const SEED = Number(process.env.FUZZ_SEED ?? 20260108);
const CLI = new URL('../../dist/cli.js', import.meta.url).pathname;

/** One line, a key path (or `yaml` / `config`), ': ', a message. */
const PROBLEM_LINE = /^[^\s\n][^\n]*?: \S[^\n]*$/;

// ---------------------------------------------------------------------------------------------
// Generators

const hostileString = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '${',
    '${}',
    '${1BAD}',
    '${UNSET_VAR}',
    '${UNSET_VAR:-fallback}',
    '${CODEARTS_TOKEN}',
    '$${literal}',
    '${A:-${B}}',
    'line\nbreak',
    'tab\there',
    '\u0000',
    '\ufeff',
    '🙂',
    'x'.repeat(5000),
    // durations
    '500ms',
    '10 s',
    '-1s',
    '1h1h',
    '1e3s',
    '0',
    '0s',
    '9999999999h',
    '1m30s',
    'PT5M',
    // cron, zones, regions, urls, levels
    '* * * * * *',
    '*/0 * * * * *',
    '61 * * * * *',
    'every day',
    'Europe/Berlin',
    'Not/AZone',
    'cn-north-4',
    'CN-NORTH-4',
    'http://127.0.0.1:9',
    'http://user:pass@host',
    'https://host/path?q=1#f',
    'ftp://host',
    'http://[::1]:99999',
    'latest',
    'debug',
    'v1',
    'REPLACEwithYOURjobID000000000001',
    '0123456789abcdef0123456789abcdef',
    'branch',
  ),
);
const hostileNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, -1, 1, 0.5, 255, 256, 257, 1000, 1001, 65535, 65536, 2 ** 53, 2 ** 53 + 2, 1e308, Infinity, -Infinity, Number.NaN),
);
const leaf = fc.oneof(hostileString, hostileNumber, fc.boolean(), fc.constant(null));
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: leaf },
  { weight: 1, arbitrary: fc.array(leaf, { maxLength: 4 }) },
  {
    weight: 1,
    arbitrary: fc.dictionary(
      fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('token', 'id', 'name', '__proto__', 'constructor')),
      leaf,
      { maxKeys: 3 },
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

type Path = Array<string | number>;

/** Every key path in a tree, objects and arrays alike. */
function pathsOf(node: unknown, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(node)) node.forEach((item, i) => out.push(...pathsOf(item, [...prefix, i])));
  else if (node !== null && typeof node === 'object')
    for (const [key, item] of Object.entries(node)) out.push(...pathsOf(item, [...prefix, key]));
  return out;
}
/** The example plus the alternative auth blocks the example only shows as comments. */
const AUTH_VARIANTS: unknown[] = [
  { token: '${CODEARTS_TOKEN}' },
  { token_file: 'secret.txt' },
  { token_file: 'missing.txt' },
  { iam: { domain: 'd', user: 'u', password: '${CODEARTS_TOKEN}', project: 'cn-north-4' } },
  { iam: { domain: 'd', user: 'u', password_file: 'secret.txt', project_id: '0123456789abcdef0123456789abcdef' } },
  { aksk: { access_key: 'AK', secret_key: '${CODEARTS_TOKEN}' } },
  { aksk: { access_key: 'AK', secret_key_file: 'secret.txt' } },
];
const PATHS = [
  ...pathsOf(TREE),
  ...pathsOf(AUTH_VARIANTS[3], ['codearts', 'auth']),
  ...pathsOf(AUTH_VARIANTS[5], ['codearts', 'auth']),
].filter((p) => p.length > 0);

type TreeMutation =
  | { kind: 'delete'; path: Path }
  | { kind: 'set'; path: Path; value: unknown }
  | { kind: 'rename'; path: Path; to: string }
  | { kind: 'add'; path: Path; key: string; value: unknown };

const treeMutation: fc.Arbitrary<TreeMutation> = fc.oneof(
  fc.constantFrom(...PATHS).map((path): TreeMutation => ({ kind: 'delete', path })),
  fc.tuple(fc.constantFrom(...PATHS), hostileValue).map(([path, value]): TreeMutation => ({ kind: 'set', path, value })),
  fc
    .tuple(
      fc.constantFrom(...PATHS),
      fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('__proto__', 'Token', 'token_file', 'iam', 'aksk', 'jobs', 'retries')),
    )
    .map(([path, to]): TreeMutation => ({ kind: 'rename', path, to })),
  fc
    .tuple(
      fc.constantFrom<Path>(
        [],
        ['codearts'],
        ['codearts', 'auth'],
        ['codearts', 'retry'],
        ['poll'],
        ['jobs', 0],
        ['metrics'],
        ['server'],
        ['state'],
        ['log'],
      ),
      fc.string({ maxLength: 10 }),
      hostileValue,
    )
    .map(([path, key, value]): TreeMutation => ({ kind: 'add', path, key, value })),
);

function parentOf(tree: unknown, path: Path): Record<string | number, unknown> | undefined {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>) : undefined;
}

function applyTree(tree: unknown, m: TreeMutation): void {
  const target = m.kind === 'add' ? [...m.path, m.key] : m.path;
  const parent = parentOf(tree, target);
  const key = target[target.length - 1];
  if (!parent || key === undefined) return;
  const define = (k: string | number, value: unknown) =>
    Object.defineProperty(parent, k, { value, enumerable: true, writable: true, configurable: true });
  switch (m.kind) {
    case 'delete':
      if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1);
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- fuzzing removes arbitrary keys on purpose
      else delete parent[key];
      return;
    case 'set':
    case 'add':
      define(key, m.kind === 'set' ? m.value : m.value);
      return;
    case 'rename':
      if (Array.isArray(parent) || !(key in parent)) return;
      define(m.to, parent[key]);
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- fuzzing renames arbitrary keys on purpose
      if (m.to !== key) delete parent[key];
  }
}

type TextMutation =
  | { kind: 'drop' | 'duplicate'; line: number }
  | { kind: 'swap'; line: number; other: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'truncate'; at: number }
  | { kind: 'indent'; line: number; by: number }
  | { kind: 'append'; text: string };

const STRAY = [
  '\t',
  ':',
  ': ',
  '- ',
  '&a ',
  '*a',
  '*nope',
  '!!binary ',
  '!!js/function ',
  '!custom ',
  '{',
  '}',
  '[',
  ']',
  '"',
  "'",
  '#',
  '|',
  '>',
  '%YAML 1.1\n',
  '---\n',
  '...\n',
  '@',
  '`',
  '\u0000',
  '\ufeff',
  '? ',
  '<<: *a\n',
  '${',
  ',',
];
const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  fc.record({ kind: fc.constantFrom<'drop' | 'duplicate'>('drop', 'duplicate'), line: fc.nat() }),
  fc.record({ kind: fc.constant<'swap'>('swap'), line: fc.nat(), other: fc.nat() }),
  fc.record({
    kind: fc.constant<'insert'>('insert'),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...STRAY), fc.string({ unit: 'binary', maxLength: 4 })),
  }),
  fc.record({ kind: fc.constant<'truncate'>('truncate'), at: fc.nat() }),
  fc.record({ kind: fc.constant<'indent'>('indent'), line: fc.nat(), by: fc.integer({ min: -4, max: 4 }) }),
  fc.record({
    kind: fc.constant<'append'>('append'),
    text: fc.constantFrom(
      'loop: &x [*x]\n',
      'loop: &y {self: *y}\n',
      'a: &a [1, 2]\nb: [*a, *a, *a]\n',
      'codearts: {}\n',
      'jobs: []\n',
      'jobs: [{id: REPLACEwithYOURjobID000000000001}]\n',
      '? [complex, key]\n: value\n',
      '"quoted key": 1\n',
      '1: numeric key\n',
      'null: ~\n',
    ),
  }),
);

function applyText(text: string, m: TextMutation): string {
  const lines = text.split('\n');
  const at = (n: number) => n % Math.max(1, lines.length);
  switch (m.kind) {
    case 'drop':
      lines.splice(at(m.line), 1);
      return lines.join('\n');
    case 'duplicate':
      lines.splice(at(m.line), 0, lines[at(m.line)] ?? '');
      return lines.join('\n');
    case 'swap': {
      const a = at(m.line);
      const b = at(m.other);
      [lines[a], lines[b]] = [lines[b] ?? '', lines[a] ?? ''];
      return lines.join('\n');
    }
    case 'insert': {
      const i = m.at % (text.length + 1);
      return text.slice(0, i) + m.text + text.slice(i);
    }
    case 'truncate':
      return text.slice(0, m.at % (text.length + 1));
    case 'indent': {
      const i = at(m.line);
      const line = lines[i] ?? '';
      lines[i] = m.by >= 0 ? ' '.repeat(m.by) + line : line.replace(new RegExp(`^ {0,${-m.by}}`), '');
      return lines.join('\n');
    }
    case 'append':
      return `${text}\n${m.text}`;
  }
}

/** A config text: the example as written, or re-serialised after tree mutations; then text damage. */
const configText = fc
  .tuple(
    fc.constantFrom(...AUTH_VARIANTS),
    fc.array(treeMutation, { maxLength: 4 }),
    fc.array(textMutation, { maxLength: 3 }),
    fc.boolean(),
  )
  .map(([auth, treeMutations, textMutations, keepOriginalText]) => {
    let text: string;
    if (keepOriginalText && treeMutations.length === 0) text = EXAMPLE;
    else {
      const tree = structuredClone(TREE);
      (tree.codearts as Record<string, unknown>).auth = structuredClone(auth);
      for (const m of treeMutations) applyTree(tree, m);
      text = stringify(tree);
    }
    for (const m of textMutations) text = applyText(text, m);
    return text;
  });

const environment = fc.record({
  CODEARTS_TOKEN: fc.oneof(
    { weight: 6, arbitrary: fc.constant(SENTINEL) },
    { weight: 1, arbitrary: fc.constantFrom(undefined, '', '  ', `${SENTINEL}\n`, `${SENTINEL}\u0000`, '${CODEARTS_TOKEN}') },
  ),
  LOG_LEVEL: fc.oneof(
    { weight: 6, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom('', 'DEBUG', 'verbose', ' warn ') },
  ),
});

/** `*_file` secrets: one readable file holding the sentinel, an empty one, the rest unreadable. */
function readSecret(path: string): string {
  if (path === 'secret.txt') return `${SENTINEL}\n`;
  if (path === 'empty.txt') return '';
  throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
}

const envOf = (e: { CODEARTS_TOKEN: string | undefined; LOG_LEVEL: string | undefined }): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {};
  if (e.CODEARTS_TOKEN !== undefined) env.CODEARTS_TOKEN = e.CODEARTS_TOKEN;
  if (e.LOG_LEVEL !== undefined) env.LOG_LEVEL = e.LOG_LEVEL;
  return env;
};

// ---------------------------------------------------------------------------------------------

describe('config fuzzing: parseConfigText', () => {
  it(`always a Config or a ConfigError with path: message lines, never the secret (${RUNS} runs)`, () => {
    const tally = { valid: 0, invalid: 0, yaml: 0, problems: 0 };
    fc.assert(
      fc.property(configText, environment, (text, e) => {
        let error: unknown;
        try {
          const config = parseConfigText(text, { env: envOf(e), readFile: readSecret, source: 'fuzz.yml' });
          expect(Object.isFrozen(config)).toBe(true);
          tally.valid++;
          return;
        } catch (caught) {
          error = caught;
        }
        if (!(error instanceof ConfigError)) throw new Error(`not a ConfigError: ${String((error as Error)?.stack ?? error)}`);
        tally.invalid++;
        tally.problems += error.problems.length;
        if (error.problems.some((p) => p.startsWith('yaml:'))) tally.yaml++;
        expect(error.problems.length).toBeGreaterThan(0);
        for (const problem of error.problems) {
          expect(problem).toMatch(PROBLEM_LINE);
          expect(problem).not.toContain(SENTINEL);
        }
        expect(error.message).not.toContain(SENTINEL);
      }),
      { numRuns: RUNS, seed: SEED },
    );
    console.log(`fuzz-config: ${RUNS} configs: ${JSON.stringify(tally)}`);
    expect(tally.valid).toBeGreaterThan(RUNS / 50);
    expect(tally.invalid).toBeGreaterThan(RUNS / 2);
    expect(tally.yaml).toBeGreaterThan(0);
  });
});

describe('config fuzzing: the validate command as a process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cbe-fuzz-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function validate(path: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, 'validate', '--config', path], {
        cwd: dir,
        env: { PATH: process.env.PATH, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.once('error', reject);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  it(`exits 0 or 2 without a stack trace or the secret (${CLI_FILES} mutated files and a few odd ones)`, async () => {
    writeFileSync(join(dir, 'secret.txt'), `${SENTINEL}\n`);
    mkdirSync(join(dir, 'a-directory'));
    const samples = fc.sample(fc.tuple(configText, environment), { numRuns: CLI_FILES, seed: SEED + 1 });
    const files: Array<{ path: string; env: NodeJS.ProcessEnv }> = samples.map(([text, e], i) => {
      const path = join(dir, `mutated-${i}.yml`);
      writeFileSync(path, text);
      // A process environment cannot hold NUL; another control character stands in for it.
      const env = Object.fromEntries(Object.entries(envOf(e)).map(([k, v]) => [k, v?.replaceAll('\u0000', '\u0001')]));
      return { path, env };
    });
    const odd: Array<[string, string | Buffer | undefined]> = [
      ['empty.yml', ''],
      ['cycle.yml', `${EXAMPLE}\nloop: &x [*x]\n`],
      ['binary.yml', Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80, 0x81, 0x0a, 0x3a, 0x3a])],
      [
        'bomb.yml',
        `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n`,
      ],
      ['missing.yml', undefined],
      ['a-directory', undefined],
    ];
    for (const [name, content] of odd) {
      if (content !== undefined) writeFileSync(join(dir, name), content);
      files.push({ path: join(dir, name), env: { CODEARTS_TOKEN: SENTINEL } });
    }

    const results: Array<{ path: string; code: number | null; stdout: string; stderr: string }> = [];
    for (let i = 0; i < files.length; i += 4) {
      results.push(...(await Promise.all(files.slice(i, i + 4).map(async ({ path, env }) => ({ path, ...(await validate(path, env)) })))));
    }
    const codes = new Map<string, number>();
    for (const { path, code, stdout, stderr } of results) {
      codes.set(String(code), (codes.get(String(code)) ?? 0) + 1);
      const output = stdout + stderr;
      expect([0, 2], `${path}: exit ${code}\n${output}`).toContain(code);
      expect(
        output.split('\n').filter((line) => /^\s+at /.test(line)),
        path,
      ).toEqual([]);
      expect(output).not.toContain(SENTINEL);
      if (code === 0) expect(stdout).toMatch(/^config OK: /);
      else {
        const [first, ...problems] = stderr.trimEnd().split('\n');
        expect(first).toBe(`config invalid: ${path}`);
        expect(problems.length, path).toBeGreaterThan(0);
        for (const problem of problems) expect(problem, `${path}\n${stderr}`).toMatch(PROBLEM_LINE);
      }
    }
    console.log(`fuzz-config (cli): ${results.length} files through validate, exit codes ${JSON.stringify(Object.fromEntries(codes))}`);
    expect(codes.get('2')).toBeGreaterThan(0);
  }, 60_000);
});
