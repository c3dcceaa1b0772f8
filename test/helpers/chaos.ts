import { createRandom } from '../../src/simulator/random.js';
import type { LogLine } from './exporter-harness.js';
import { ExporterProcess } from './exporter-process.js';
import { sleep } from '../../src/support/clock.js';

/** The simulator's seeded PRNG: the same seed gives the same kill schedule and fault mix. */
export const seededRandom = createRandom;

/**
 * One lifetime of the built exporter (`node dist/cli.js run`), with its raw stdout and stderr kept
 * besides the parsed JSON lines: a secret must appear in no byte of either, JSON or not.
 */
export class RecordedLifetime {
  rawStdout = '';
  rawStderr = '';

  private constructor(readonly process: ExporterProcess) {
    // Listeners added in the same tick as spawn see every chunk.
    process.child.stdout?.on('data', (chunk: string | Buffer) => (this.rawStdout += String(chunk)));
    process.child.stderr?.on('data', (chunk: string | Buffer) => (this.rawStderr += String(chunk)));
  }

  static spawn(args: string[], env: NodeJS.ProcessEnv = {}, options: { cwd?: string; uid?: number; gid?: number } = {}): RecordedLifetime {
    return new RecordedLifetime(ExporterProcess.spawn(args, env, options));
  }

  /** `run --config FILE`, resolved once it listens. */
  static async run(
    configPath: string,
    env: NodeJS.ProcessEnv = {},
    options: { uid?: number; gid?: number } = {},
  ): Promise<{ lifetime: RecordedLifetime; url: string }> {
    const lifetime = RecordedLifetime.spawn(['run', '--config', configPath], env, options);
    const line = await lifetime.process.waitForLog((l) => l.msg === 'exporter listening', 15_000);
    return { lifetime, url: String(line.url) };
  }

  /**
   * SIGKILL the moment the `count`-th durable commit of a build is reported (an `"event":"build_counted"`
   * line on the pipe), from the data handler itself (no polling delay): the child is then at most a
   * few instructions past that commit, others in flight. Resolves when the child has died (or after
   * `timeoutMs`, with a kill anyway).
   */
  async killOnCommit(count: number, timeoutMs: number): Promise<void> {
    const child = this.process.child;
    let seen = 0;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        child.stdout?.off('data', onData);
        resolve();
      }, timeoutMs);
      const onData = (chunk: string | Buffer) => {
        const text = String(chunk);
        for (let at = text.indexOf('"build_counted"'); at >= 0; at = text.indexOf('"build_counted"', at + 1)) seen++;
        if (seen >= count) {
          child.kill('SIGKILL');
          child.stdout?.off('data', onData);
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
    });
    this.process.kill('SIGKILL');
  }

  get lines(): LogLine[] {
    return this.process.lines;
  }
}

/** Keys that occur more than once, each listed once. */
export function duplicatesOf(keys: readonly string[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const key of keys) (seen.has(key) ? twice : seen).add(key);
  return [...twice].sort();
}

/** The most timestamps (ms) in any half-open window [t, t + windowMs). */
export function maxInSlidingWindow(timestamps: readonly number[], windowMs = 1000): number {
  const sorted = [...timestamps].sort((a, b) => a - b);
  let max = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while ((sorted[end] ?? 0) - (sorted[start] ?? 0) >= windowMs) start++;
    max = Math.max(max, end - start + 1);
  }
  return max;
}

/** Re-exported for the tests that import their helpers from here. */
export { sleep };

/** Polls `condition` every `everyMs` until it holds or `timeoutMs` passes; returns whether it held. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}
