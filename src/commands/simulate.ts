import { createSimulator } from '../simulator/server.js';
import { resolveOptions } from '../simulator/options.js';
import type { Simulator, SimulatorOptions } from '../simulator/types.js';
import { EXIT_INVALID_CONFIG, type CommandIo } from './io.js';

/** Parsed `simulate` options (see simulate-options.ts). */
export interface SimulateArgs {
  port: number;
  host: string;
  jobs: number;
  seed: number;
  speed: number;
  latency: number;
  token: string;
  every: number;
}

/**
 * Runs the fake CodeArts Build API on a realtime clock until SIGINT or SIGTERM (or until `stop`
 * aborts, which lets tests end it without sending the test process a signal).
 */
export async function runSimulator(args: Record<string, unknown>, io: CommandIo, stop?: AbortSignal): Promise<number> {
  const a = args as unknown as SimulateArgs;
  const options: SimulatorOptions = {
    clock: 'realtime',
    speed: a.speed,
    port: a.port,
    host: a.host,
    jobs: a.jobs,
    seed: a.seed,
    latencyMs: a.latency,
    buildEverySeconds: a.every,
    token: a.token,
  };
  try {
    resolveOptions(options);
  } catch (error) {
    io.stderr(`simulate: ${(error as Error).message}`);
    return EXIT_INVALID_CONFIG;
  }
  let simulator: Simulator;
  try {
    simulator = await createSimulator(options);
  } catch (error) {
    io.stderr(`simulate: cannot start: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  const ids = simulator.jobs().map((job) => job.id);
  io.stdout(`codearts simulator listening on ${simulator.url} (speed ${a.speed}x) jobs: ${ids.join(' ')}`);
  await waitForStop(stop);
  await simulator.close();
  return 0;
}

function waitForStop(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
    if (signal?.aborted) done();
    else signal?.addEventListener('abort', done);
  });
}
