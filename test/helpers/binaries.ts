import { execFileSync } from 'node:child_process';
import { it } from 'vitest';

/** Absolute path of an executable on PATH, or undefined. */
export function findBinary(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * `it` for tests that need a Debian binary (prometheus, promtool). Without it the test is skipped
 * loudly; where skipping is not allowed (CI, or REQUIRE_E2E=1) the test fails instead.
 */
/** A test function with vitest's `it(title, fn, timeout)` shape. */
export type TestFn = (title: string, fn: () => unknown, timeout?: number) => void;

export function itWithBinary(name: string, aptPackage = 'prometheus'): TestFn {
  if (findBinary(name)) return it;
  const strict = process.env.CI === 'true' || process.env.REQUIRE_E2E === '1';
  if (strict) {
    return (title) =>
      it(title, () => {
        throw new Error(`${name} is not installed but this run requires it (CI/REQUIRE_E2E): apt-get install -y ${aptPackage}`);
      });
  }
  console.warn(`\n*** SKIPPING tests that need '${name}': not installed (apt-get install -y ${aptPackage}) ***\n`);
  return (title, fn, timeout) => it.skipIf(true)(title, fn, timeout);
}
