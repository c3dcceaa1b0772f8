import type { z } from 'zod';

/** One thing wrong with the config, at a key path such as ['codearts', 'retry', 'max_delay']. */
export interface Problem {
  path: readonly PropertyKey[];
  message: string;
}

/**
 * Thrown when a config cannot be used. `problems` holds one line per problem,
 * `<key.path>: <what is wrong>`; no line ever contains a secret value.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: string[];
  /** The config file (or text source) the problems are about. */
  readonly source: string;

  constructor(source: string, problems: string[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(`invalid config ${source}: ${count}\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.source = source;
    this.problems = problems;
  }
}

/** `codearts.retry.max_delay`, `jobs[2].id`; the document root is `(root)`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z0-9_-]+$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out === '' ? '(root)' : out;
}

export function formatProblem(problem: Problem): string {
  return `${formatPath(problem.path)}: ${problem.message}`;
}

/** Finds the allowed key closest to a misspelt one at a path (see suggest.ts). */
export type KeySuggester = (path: readonly PropertyKey[], key: string) => string | undefined;

/** Zod issues as problems; unknown keys become one problem per key, with the closest allowed key. */
export function problemsFromIssues(issues: readonly z.core.$ZodIssue[], suggest?: KeySuggester): Problem[] {
  return issues.flatMap((issue): Problem[] =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: [...issue.path, key], message: unknownKeyMessage(suggest?.(issue.path, key)) }))
      : [{ path: issue.path, message: issue.message }],
  );
}

function unknownKeyMessage(suggestion: string | undefined): string {
  return suggestion === undefined ? 'unknown key' : `unknown key (did you mean "${suggestion}"?)`;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
};

/**
 * Messages for zod's built-in issues. It looks at the type of the input, never at its value,
 * so a misplaced secret cannot leak through a message.
 */
export const issueMessage: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'is required';
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      return issue.input === null ? `must be ${expected} (the value is empty)` : `must be ${expected}`;
    }
    case 'too_small':
      return sizeMessage(issue.origin, '>=', '>', issue.minimum, issue.inclusive);
    case 'too_big':
      return sizeMessage(issue.origin, '<=', '<', issue.maximum, issue.inclusive);
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}`;
    case 'invalid_format':
      return 'has an invalid format';
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    default:
      return 'is invalid';
  }
};

function sizeMessage(origin: string, incl: string, excl: string, limit: unknown, inclusive?: boolean): string {
  if (origin === 'string' || origin === 'array') {
    const unit = origin === 'string' ? 'characters' : 'items';
    if (incl === '>=' && Number(limit) === 1) return 'must not be empty';
    return `must have ${incl === '>=' ? 'at least' : 'at most'} ${String(limit)} ${unit}`;
  }
  return `must be ${inclusive === false ? excl : incl} ${String(limit)}`;
}
