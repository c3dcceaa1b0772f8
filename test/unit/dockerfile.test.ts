import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/promql.js';

const DEFAULT_PORT = 10987;
const text = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(text);
const instructions = dockerfile.getInstructions();
const froms = dockerfile.getFROMs();
const lastFromLine = Math.max(...froms.map((f) => f.getRange().start.line));
/** Instructions of the final (runtime) stage. */
const finalStage = instructions.filter((i) => i.getRange().start.line >= lastFromLine);
const keyword = (i: Instruction): string => i.getKeyword().toUpperCase();
const args = (i: Instruction): string => i.getArgumentsContent() ?? '';
const inFinal = (kw: string): Instruction[] => finalStage.filter((i) => keyword(i) === kw);

/** The JSON array of an exec-form instruction, or undefined for shell form. */
function execForm(instruction: Instruction): string[] | undefined {
  const raw = args(instruction).trim();
  if (!raw.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    return Array.isArray(parsed) && parsed.every((s) => typeof s === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

describe('Dockerfile', () => {
  it('is multi-stage and every FROM is pinned to a version (never latest, never untagged)', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const stageNames = froms.map((f) => f.getBuildStage()).filter((s): s is string => s !== null);
    for (const from of froms) {
      const name = from.getImageName();
      if (name && stageNames.includes(name)) continue; // FROM <earlier stage>
      const tag = from.getImageTag();
      expect(from.getImage(), 'image').toBeTruthy();
      expect(tag, `${from.getImage()} has no tag`).toBeTruthy();
      expect(tag).not.toBe('latest');
      // A version: at least major.minor (e.g. 24.11.1-alpine3.22), not a floating "24-alpine".
      expect(tag, `${from.getImage()} is not pinned to a version`).toMatch(/^\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?$/);
    }
  });

  it('runs on Node.js 24 (the LTS the design names for the container)', () => {
    for (const from of froms) {
      if (from.getImageName() === 'node') expect(from.getImageTag()).toMatch(/^24\./);
    }
  });

  it('installs production dependencies only for the runtime (npm ci --omit=dev) and builds with npm ci', () => {
    const runs = instructions.filter((i) => keyword(i) === 'RUN').map(args);
    expect(runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm ci\b(?!.*--omit=dev)/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm run build\b/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm install\b/.test(r))).toBe(false);
    // The runtime takes node_modules from a production-only install, never from the build stage.
    const copies = inFinal('COPY').map((i) => i.toString());
    const nodeModules = copies.filter((c) => c.includes('node_modules'));
    expect(nodeModules).toHaveLength(1);
    const fromStage = /--from=(\S+)/.exec(nodeModules[0] ?? '')?.[1];
    const stageRuns = instructions.filter((i) => {
      const line = i.getRange().start.line;
      const stage = froms.filter((f) => f.getRange().start.line <= line).at(-1);
      return stage?.getBuildStage() === fromStage && keyword(i) === 'RUN';
    });
    expect(
      stageRuns.map(args).some((r) => /npm ci\b.*--omit=dev/.test(r)),
      `stage ${fromStage}`,
    ).toBe(true);
  });

  it('sets NODE_ENV=production in the runtime stage', () => {
    expect(
      inFinal('ENV')
        .map(args)
        .some((e) => /NODE_ENV[= ]production/.test(e)),
    ).toBe(true);
  });

  it('runs as a numeric non-root user in the final stage', () => {
    const users = inFinal('USER');
    expect(users.length).toBeGreaterThan(0);
    const user = args(users.at(-1)!).trim();
    expect(user).toMatch(/^\d+(:\d+)?$/);
    const [uid, gid] = user.split(':');
    expect(Number(uid)).not.toBe(0);
    if (gid !== undefined) expect(Number(gid)).not.toBe(0);
    // USER comes before CMD/ENTRYPOINT.
    const userLine = users.at(-1)!.getRange().start.line;
    for (const i of [...inFinal('CMD'), ...inFinal('ENTRYPOINT')]) expect(i.getRange().start.line).toBeGreaterThan(userLine);
  });

  it('uses exec form for CMD and ENTRYPOINT, an init as PID 1, and starts node directly (no npm start)', () => {
    const entrypoint = inFinal('ENTRYPOINT').at(-1);
    const cmd = inFinal('CMD').at(-1);
    expect(entrypoint).toBeDefined();
    expect(cmd).toBeDefined();
    const entry = execForm(entrypoint!);
    const command = execForm(cmd!);
    expect(entry, 'ENTRYPOINT must be exec form').toBeDefined();
    expect(command, 'CMD must be exec form').toBeDefined();
    expect(entry).toEqual(['/sbin/tini', '--']);
    expect(
      inFinal('RUN')
        .map(args)
        .some((r) => /apk add --no-cache .*\btini\b/.test(r)),
    ).toBe(true);
    expect(command).toEqual(['node', 'dist/cli.js', 'run', '--config', '/app/config/exporter.yml']);
    for (const i of [...instructions.filter((x) => ['CMD', 'ENTRYPOINT'].includes(keyword(x)))]) {
      expect(args(i)).not.toMatch(/npm\W+(start|run)/);
    }
  });

  it('has an exec-form HEALTHCHECK running dist/healthcheck.js on the same config file as the CMD', () => {
    const healthchecks = inFinal('HEALTHCHECK');
    expect(healthchecks).toHaveLength(1);
    const content = args(healthchecks[0]!);
    expect(content).toMatch(/\bCMD\s+\[/);
    const argv = JSON.parse(content.slice(content.indexOf('['))) as string[];
    const cmd = execForm(inFinal('CMD').at(-1)!)!;
    expect(argv).toEqual(['node', 'dist/healthcheck.js', '--config', cmd[cmd.indexOf('--config') + 1]]);
    // Built from src/healthcheck.ts into dist/, which the runtime stage copies.
    expect(existsSync(join(REPO_ROOT, 'src/healthcheck.ts'))).toBe(true);
  });

  it('sets the heap limit in one ENV line of the final stage (old space and semi-space caps)', () => {
    const lines = text.split('\n').filter((line) => line.includes('NODE_OPTIONS') && !line.trimStart().startsWith('#'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ENV NODE_OPTIONS="--max-old-space-size=\d+ --max-semi-space-size=\d+"$/);
    expect(inFinal('ENV').map(args)).toContain(lines[0]!.slice('ENV '.length));
  });

  it('removes npm, npx, corepack and yarn from the runtime stage', () => {
    const removal =
      inFinal('RUN')
        .map(args)
        .find((r) => /\brm -rf\b/.test(r)) ?? '';
    for (const path of [
      '/usr/local/lib/node_modules',
      '/usr/local/bin/npm',
      '/usr/local/bin/npx',
      '/usr/local/bin/corepack',
      '/usr/local/bin/yarn',
      '/usr/local/bin/yarnpkg',
      '/opt/yarn-v*',
    ]) {
      expect(removal.split(/\s+/), path).toContain(path);
    }
  });

  it('leaves the benchmark and the npm demo out of the image but keeps the simulator (the compose demo runs `simulate`)', () => {
    const buildRuns = instructions.filter((i) => i.getRange().start.line < lastFromLine && keyword(i) === 'RUN').map(args);
    const removed = buildRuns.flatMap((r) => [...r.matchAll(/\brm -rf ([^&;]+)/g)].flatMap((m) => m[1]!.trim().split(/\s+/)));
    expect(removed).toEqual(expect.arrayContaining(['dist/bench', 'dist/demo.js']));
    expect(removed.some((path) => path.startsWith('dist/simulator') || path === 'dist/cli.js')).toBe(false);
    const compose = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
    expect(compose).toMatch(/command: \["node", "dist\/cli\.js", "simulate"/);
  });

  it('exposes the default port 10987', () => {
    const exposed = inFinal('EXPOSE').flatMap((i) => args(i).split(/\s+/));
    expect(exposed).toEqual([String(DEFAULT_PORT)]);
  });

  it('declares /app/data (the state file directory) as a volume writable by the runtime user', () => {
    const volumes = inFinal('VOLUME').map((i) => args(i).trim());
    expect(volumes.some((v) => v === '/app/data' || v === '["/app/data"]')).toBe(true);
    const workdir = inFinal('WORKDIR').map(args).at(-1);
    expect(workdir).toBe('/app');
    expect(
      inFinal('RUN')
        .map(args)
        .some((r) => /chown\s+1000:1000\s+\/app\/data/.test(r)),
    ).toBe(true);
  });

  it('carries OCI labels; version, revision and source come from build arguments, the version from package.json only', () => {
    const labels = inFinal('LABEL').map(args).join(' ');
    for (const key of ['title', 'description', 'licenses', 'version', 'revision', 'source']) {
      expect(labels).toContain(`org.opencontainers.image.${key}=`);
    }
    for (const [key, arg] of [
      ['version', 'VERSION'],
      ['revision', 'REVISION'],
      ['source', 'SOURCE'],
    ] as const) {
      expect(labels).toContain(`org.opencontainers.image.${key}="\${${arg}}"`);
      // Declared without a default: a default would be a second copy that goes stale.
      expect(inFinal('ARG').map((i) => args(i).trim())).toContain(arg);
    }
    const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(text).not.toContain(version);
  });

  it('copies what the runtime reads: dist/ and package.json (for the version)', () => {
    const copies = inFinal('COPY').map((i) => i.toString());
    expect(copies).toContain('COPY --from=build /app/dist ./dist');
    expect(copies.some((c) => /^COPY package\.json\s/.test(c))).toBe(true);
  });
});

describe('.dockerignore', () => {
  const entries = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

  it('keeps node_modules, .git, build output, state, tests and secrets out of the build context', () => {
    for (const entry of ['node_modules', '.git', 'dist', 'data', 'test', 'coverage', '*.log', '.env*']) {
      expect(entries).toContain(entry);
    }
  });

  it('does not exclude what the build needs', () => {
    for (const needed of ['src', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json']) {
      expect(entries).not.toContain(needed);
    }
  });
});
