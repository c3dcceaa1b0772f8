import { readFileSync } from 'node:fs';

/**
 * The Node flags the container image starts the exporter with: the `ENV NODE_OPTIONS` line of the
 * repository's Dockerfile, so the memory scenarios measure the exporter as shipped.
 */
export function imageNodeOptions(): string[] {
  const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
  const value = /^ENV NODE_OPTIONS="([^"]*)"$/m.exec(dockerfile)?.[1];
  if (value === undefined) throw new Error('no ENV NODE_OPTIONS="..." line in the Dockerfile');
  return value.split(' ').filter(Boolean);
}

/**
 * Flags for an exporter process measured "as the image starts it": the image's NODE_OPTIONS,
 * unless BENCH_CHILD_ARGS sets flags of its own (those are added to every child by BenchChild).
 */
export function imageFlags(): string[] {
  return process.env.BENCH_CHILD_ARGS ? [] : imageNodeOptions();
}
