import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { isPlainObject } from '../support/objects.js';
import { interpolateTree } from './interpolate.js';
import type { Problem } from './problems.js';
import { ConfigError, formatPath, formatProblem, issueMessage, problemsFromIssues } from './problems.js';
import { createConfigSchema } from './schema.js';
import { suggestKey } from './suggest.js';
import type { Config } from './schema.js';
import { LOG_FORMATS, LOG_LEVELS } from './types.js';

export type { Config } from './schema.js';
export { ConfigError } from './problems.js';
export { describeConfig, redactConfig, summarizeConfig } from './describe.js';

export const DEFAULT_CONFIG_PATH = 'config/exporter.yml';

export interface ParseOptions {
  env: NodeJS.ProcessEnv;
  /** Reads `*_file` secrets; defaults to the file system (paths relative to the working directory). */
  readFile?: (path: string) => string;
  /** Names the text in ConfigError (usually the file path). */
  source?: string;
}

/** `file`, else $CODEARTS_EXPORTER_CONFIG, else config/exporter.yml. */
export function resolveConfigPath(file: string | undefined, env: NodeJS.ProcessEnv): string {
  return file || env.CODEARTS_EXPORTER_CONFIG || DEFAULT_CONFIG_PATH;
}

/** Reads, interpolates and validates a config file. Throws ConfigError listing every problem. */
export async function loadConfig(options: {
  file?: string | undefined;
  env: NodeJS.ProcessEnv;
  readFile?: (path: string) => string;
}): Promise<Config> {
  const path = resolveConfigPath(options.file, options.env);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(path, [`config: cannot read file ${JSON.stringify(path)} (${code})`]);
  }
  return parseConfigText(text, { ...options, source: path });
}

/**
 * YAML text -> validated, frozen Config. Pure apart from `readFile` for `*_file` secrets.
 * LOG_LEVEL and LOG_FORMAT in `env` override log.level and log.format.
 */
export function parseConfigText(text: string, options: ParseOptions): Config {
  const source = options.source ?? '<config>';
  const tree = parseYaml(text);
  if ('problems' in tree) throw new ConfigError(source, tree.problems);

  const interpolated = interpolateTree(tree.value ?? {}, options.env);
  const problems: Problem[] = [...interpolated.problems];
  const raw = applyLogOverrides(interpolated.value, options.env, problems);

  const schema = createConfigSchema({ readFile: options.readFile ?? ((p) => readFileSync(p, 'utf8')) });
  const result = schema.safeParse(raw, { error: issueMessage });
  if (!result.success) {
    // A value that failed interpolation was validated unexpanded; its schema problems are noise.
    const failed = new Set(interpolated.problems.map((p) => formatPath(p.path)));
    const suggest = (path: readonly PropertyKey[], key: string) => suggestKey(schema, path, key);
    problems.push(...problemsFromIssues(result.error.issues, suggest).filter((p) => !failed.has(formatPath(p.path))));
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(source, unique(problems.map(formatProblem)));
  return deepFreeze(result.data);
}

function parseYaml(text: string): { value: unknown } | { problems: string[] } {
  // logLevel error: the library would print its own warnings (e.g. collection keys) to stderr.
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, logLevel: 'error' });
  if (doc.errors.length > 0) {
    // yaml's own messages quote the offending source, which may be a secret: only code and position.
    return {
      problems: doc.errors.map((error) => {
        const at = error.linePos?.[0];
        const where = at ? `line ${at.line}, column ${at.col}: ` : '';
        return `yaml: ${where}${YAML_ERRORS[error.code] ?? 'syntax error'} (${error.code})`;
      }),
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch {
    return { problems: ['yaml: cannot resolve an alias (undefined anchor or too many aliases)'] };
  }
  // `a: &x [*x]` is legal YAML for a structure that contains itself; nothing downstream can walk it.
  if (isCircular(value)) return { problems: ['yaml: an alias refers to a node that contains it (circular structure)'] };
  return { value };
}

function isCircular(node: unknown, ancestors = new Set<object>()): boolean {
  if (node === null || typeof node !== 'object') return false;
  if (ancestors.has(node)) return true;
  ancestors.add(node);
  const circular = Object.values(node).some((child) => isCircular(child, ancestors));
  ancestors.delete(node);
  return circular;
}

const YAML_ERRORS: Record<string, string> = {
  BAD_INDENT: 'bad indentation',
  BLOCK_AS_IMPLICIT_KEY: 'a mapping cannot start here (missing line break or quotes?)',
  DUPLICATE_KEY: 'duplicate key',
  MISSING_CHAR: 'missing character (unclosed quote or bracket, or missing comma?)',
  MULTILINE_IMPLICIT_KEY: 'a key must fit on one line',
  UNEXPECTED_TOKEN: 'unexpected token',
  BAD_DQ_ESCAPE: 'invalid escape sequence in a double-quoted string',
  TAB_AS_INDENT: 'tabs cannot be used for indentation',
  TAG_RESOLVE_FAILED: 'unknown tag',
};

/** LOG_LEVEL and LOG_FORMAT in the environment win over log.level and log.format. */
function applyLogOverrides(raw: unknown, env: NodeJS.ProcessEnv, problems: Problem[]): unknown {
  const overrides: Record<string, string> = {};
  for (const { key, variable, allowed } of LOG_OVERRIDES) {
    const value = env[variable]?.trim().toLowerCase();
    if (!value) continue;
    if (allowed.includes(value)) overrides[key] = value;
    else
      problems.push({ path: ['log', key], message: `${variable}=${JSON.stringify(env[variable])} must be one of ${allowed.join(', ')}` });
  }
  if (Object.keys(overrides).length === 0 || !isPlainObject(raw)) return raw;
  const log = raw.log === undefined ? {} : raw.log;
  // A malformed log block is left for the schema to report.
  return isPlainObject(log) ? { ...raw, log: { ...log, ...overrides } } : raw;
}

const LOG_OVERRIDES: ReadonlyArray<{ key: string; variable: string; allowed: readonly string[] }> = [
  { key: 'level', variable: 'LOG_LEVEL', allowed: LOG_LEVELS },
  { key: 'format', variable: 'LOG_FORMAT', allowed: LOG_FORMATS },
];

function unique(lines: string[]): string[] {
  return [...new Set(lines)];
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}
