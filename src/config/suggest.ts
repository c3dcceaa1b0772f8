import type { z } from 'zod';

/**
 * "Did you mean …?" for a misspelt config key: the allowed keys at the key's path, read from the
 * zod schema itself (so the suggestions never drift from what is accepted), and the closest one
 * by edit distance.
 */
export function suggestKey(schema: z.ZodType, path: readonly PropertyKey[], key: string): string | undefined {
  const allowed = allowedKeysAt(schema, path);
  return allowed ? closestMatch(key, allowed) : undefined;
}

/** The keys a mapping at `path` accepts, or undefined when the path does not lead to one. */
export function allowedKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let node = schema as unknown as Node;
  for (const segment of path) {
    const child = childAt(node, segment);
    if (!child) return undefined;
    node = child;
  }
  const object = objectOf(node);
  return object ? Object.keys(object._zod.def.shape ?? {}) : undefined;
}

/** The minimal view of zod's schema definitions this walk needs. */
interface Node {
  _zod: {
    def: {
      type: string;
      shape?: Record<string, Node>;
      element?: Node;
      innerType?: Node;
      in?: Node;
      out?: Node;
    };
  };
}

const MAX_DEPTH = 16;

/** Sees through defaults, optionals, pipes (transform, preprocess) to the object schema, if any. */
function objectOf(node: Node, depth = 0): Node | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const def = node._zod.def;
  if (def.type === 'object') return node;
  if (def.innerType) return objectOf(def.innerType, depth + 1);
  if (def.type === 'pipe') return (def.in && objectOf(def.in, depth + 1)) ?? (def.out && objectOf(def.out, depth + 1));
  return undefined;
}

function arrayOf(node: Node, depth = 0): Node | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const def = node._zod.def;
  if (def.type === 'array') return node;
  if (def.innerType) return arrayOf(def.innerType, depth + 1);
  if (def.type === 'pipe') return (def.in && arrayOf(def.in, depth + 1)) ?? (def.out && arrayOf(def.out, depth + 1));
  return undefined;
}

function childAt(node: Node, segment: PropertyKey): Node | undefined {
  if (typeof segment === 'number') return arrayOf(node)?._zod.def.element;
  return objectOf(node)?._zod.def.shape?.[String(segment)];
}

/**
 * The candidate closest to `word`, when it is close enough to be a likely typo: at most one edit
 * per three characters (at least one). Case, `-` and `_` are ignored, so `maxConcurrency` and
 * `max-concurrency` both find `max_concurrency`.
 */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  const target = normalise(word);
  const limit = Math.max(1, Math.floor(target.length / 3));
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(target, normalise(candidate));
    if (distance <= limit && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

function normalise(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent transpositions. */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => rows[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, at(i - 2, j - 2) + 1);
      row[j] = d;
    }
  }
  return at(a.length, b.length);
}
