import type { Problem } from './problems.js';
import { isPlainObject } from '../support/objects.js';

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Expands `${VAR}` and `${VAR:-default}` (the default also applies when VAR is empty, as in sh);
 * `$${` is a literal `${`. Messages never quote the string: it may be a secret.
 */
export function expandVariables(text: string, env: NodeJS.ProcessEnv): { value: string; problems: string[] } {
  const problems: string[] = [];
  let value = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      value += '${';
      i += 3;
      continue;
    }
    if (!text.startsWith('${', i)) {
      value += text.charAt(i);
      i += 1;
      continue;
    }
    const end = text.indexOf('}', i + 2);
    if (end === -1) {
      problems.push('unterminated ${ (write $${ for a literal ${)');
      break;
    }
    const body = text.slice(i + 2, end);
    const split = body.indexOf(':-');
    const name = split === -1 ? body : body.slice(0, split);
    if (!VARIABLE_NAME.test(name)) {
      problems.push('invalid ${...} reference: expected ${NAME} or ${NAME:-default}');
    } else {
      const fromEnv = env[name];
      if (split !== -1) value += fromEnv === undefined || fromEnv === '' ? body.slice(split + 2) : fromEnv;
      else if (fromEnv !== undefined) value += fromEnv;
      else problems.push(`environment variable ${name} is not set`);
    }
    i = end + 1;
  }
  return { value, problems };
}

/** Returns a copy of a parsed YAML tree with every string value expanded; keys are left alone. */
export function interpolateTree(tree: unknown, env: NodeJS.ProcessEnv): { value: unknown; problems: Problem[] } {
  const problems: Problem[] = [];
  const walk = (node: unknown, path: PropertyKey[]): unknown => {
    if (typeof node === 'string') {
      const expanded = expandVariables(node, env);
      for (const message of expanded.problems) problems.push({ path, message });
      return expanded.problems.length === 0 ? expanded.value : node;
    }
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i]));
    if (isPlainObject(node)) {
      return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, walk(item, [...path, key])]));
    }
    return node;
  };
  return { value: walk(tree, []), problems };
}
