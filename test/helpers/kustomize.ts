/**
 * Rendering deploy/kustomize with `kubectl kustomize` for the tests, on a copy of the repository
 * files kustomize reads (config/, deploy/, grafana/). Only files git tracks or would track are
 * copied, never the git-ignored credential files a user may keep in an overlay's secrets/; the
 * secretGenerator sources are then written into the copy with sentinel values.
 */

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parse as parseYaml, parseAllDocuments, stringify } from 'yaml';
import { REPO_ROOT } from './promql.js';

export const KUSTOMIZE_DIR = 'deploy/kustomize';
/** What kustomize reads: the manifests and the generators' source files. */
const COPIED_DIRS = ['config', 'deploy', 'grafana'];

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** A secretGenerator source file, written with a sentinel value in the copy. */
export interface SecretSource {
  /** Repository-relative path of the file (the user's copy lives there, git-ignored). */
  path: string;
  sentinel: string;
}

interface Kustomization {
  resources?: string[];
  components?: string[];
  secretGenerator?: Array<{ name: string; files?: string[]; envs?: string[] }>;
  [key: string]: unknown;
}

/** The directories directly under deploy/kustomize/<kind> (overlays, components). */
export function listDirs(kind: 'overlays' | 'components'): string[] {
  const dir = join(REPO_ROOT, KUSTOMIZE_DIR, kind);
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/** Every kustomization file under config/, deploy/, grafana/, repository-relative. */
export function kustomizationFiles(): string[] {
  return copyableFiles().filter((path) => /(^|\/)kustomization\.ya?ml$/.test(path));
}

export function readKustomization(repoPath: string): Kustomization {
  return (parseYaml(readFileSync(join(REPO_ROOT, repoPath), 'utf8')) ?? {}) as Kustomization;
}

/** The files every secretGenerator reads (`files: [key=path]`, `envs: [path]`), repository-relative. */
export function secretGeneratorSources(): string[] {
  return kustomizationFiles().flatMap((file) =>
    (readKustomization(file).secretGenerator ?? []).flatMap((generator) => [
      ...(generator.files ?? []).map((entry) => join(dirname(file), entry.includes('=') ? entry.slice(entry.indexOf('=') + 1) : entry)),
      ...(generator.envs ?? []).map((entry) => join(dirname(file), entry)),
    ]),
  );
}

/** True when git ignores the path (whether or not it exists). */
export function gitIgnores(repoPath: string): boolean {
  try {
    execFileSync('git', ['check-ignore', '-q', '--no-index', repoPath], { cwd: REPO_ROOT });
    return true;
  } catch {
    return false;
  }
}

/** Files tracked or trackable by git under config/, deploy/, grafana/, repository-relative. */
function copyableFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', ...COPIED_DIRS], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  return out.split('\n').filter((path) => path !== '' && existsSync(join(REPO_ROOT, path)));
}

export interface RenderTree {
  root: string;
  secrets: SecretSource[];
}

/**
 * Copies what kustomize reads into a temp dir and writes a distinct sentinel into every
 * secretGenerator source. Sentinels are random per run, so finding one anywhere proves it leaked.
 */
export function prepareRenderTree(): RenderTree {
  const root = mkdtempSync(join(tmpdir(), 'cbe-kustomize-'));
  for (const file of copyableFiles()) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    cpSync(join(REPO_ROOT, file), join(root, file));
  }
  const secrets = secretGeneratorSources().map((path) => {
    const sentinel = `sentinel-${path.split('/').at(-1)}-${randomBytes(6).toString('hex')}-NOT-A-SECRET`;
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), sentinel);
    return { path, sentinel };
  });
  return { root, secrets };
}

/** `kubectl kustomize` of a directory of the tree, parsed. */
export function render(tree: RenderTree, dir: string): K8sObject[] {
  const text = execFileSync('kubectl', ['kustomize', join(tree.root, dir)], { encoding: 'utf8', timeout: 60_000 });
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((obj): obj is K8sObject => obj !== null);
}

/** Adds components to a kustomization of the tree (a combination the docs describe). */
export function addComponents(tree: RenderTree, dir: string, components: string[]): void {
  const file = join(tree.root, dir, 'kustomization.yaml');
  const kustomization = parseYaml(readFileSync(file, 'utf8')) as Kustomization;
  const relativeComponents = components.map((c) => relative(join(tree.root, dir), join(tree.root, c)));
  kustomization.components = [...(kustomization.components ?? []), ...relativeComponents];
  writeFileSync(file, stringify(kustomization));
}
