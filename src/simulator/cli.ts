import { parseArgs } from 'node:util';
import { EXIT_INVALID_CONFIG, type CommandIo } from '../commands/io.js';
import { resolveOptions } from './options.js';
import { createSimulator } from './server.js';
import type { Simulator, SimulatorOptions } from './types.js';

const USAGE = `usage: codearts-build-exporter simulate [options]

  --port N         port to listen on (default 0 = random)
  --host H         interface to bind (default 127.0.0.1)
  --jobs N         number of generated jobs (default 3)
  --seed N         random seed (default 1)
  --speed X        virtual seconds per real second (default 10)
  --latency MS     added to every response (default 0)
  --token T        accepted X-Auth-Token (default sim-token-NOT-A-SECRET)
  --every SECONDS  mean interval between new builds per job (default 300)`;

/**
 * Runs the fake CodeArts Build API on a realtime clock until SIGINT or SIGTERM (or until `stop`
 * aborts, which lets tests end it without sending the test process a signal).
 */
export async function simulateCommand(args: string[], io: CommandIo, stop?: AbortSignal): Promise<number> {
  let parsed: ParsedArgs;
  try {
    parsed = parseSimulateArgs(args);
  } catch (error) {
    io.stderr(`simulate: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return EXIT_INVALID_CONFIG;
  }
  if (parsed.help) {
    io.stdout(USAGE);
    return 0;
  }
  const { options } = parsed;
  let simulator: Simulator;
  try {
    simulator = await createSimulator(options);
  } catch (error) {
    io.stderr(`simulate: cannot start: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  const ids = simulator.jobs().map((job) => job.id);
  io.stdout(`codearts simulator listening on ${simulator.url} (speed ${options.speed}x) jobs: ${ids.join(' ')}`);
  await waitForStop(stop);
  await simulator.close();
  return 0;
}

type ParsedArgs = { help: true } | { help: false; options: SimulatorOptions };

/** Throws a TypeError naming the bad flag; option values are validated here too, so they exit 2. */
function parseSimulateArgs(args: string[]): ParsedArgs {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      jobs: { type: 'string' },
      seed: { type: 'string' },
      speed: { type: 'string' },
      latency: { type: 'string' },
      token: { type: 'string' },
      every: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return { help: true };
  const options: SimulatorOptions = { clock: 'realtime', speed: readNumber('speed', values.speed, 10, false) };
  options.port = readNumber('port', values.port, 0, true);
  options.jobs = readNumber('jobs', values.jobs, 3, true);
  options.seed = readNumber('seed', values.seed, 1, true);
  options.latencyMs = readNumber('latency', values.latency, 0, false);
  options.buildEverySeconds = readNumber('every', values.every, 300, false);
  if (values.host !== undefined) options.host = values.host;
  if (values.token !== undefined) options.token = values.token;
  resolveOptions(options);
  return { help: false, options };
}

function readNumber(flag: string, raw: string | undefined, fallback: number, integer: boolean): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  const ok = raw.trim() !== '' && Number.isFinite(value) && value >= 0 && (!integer || Number.isInteger(value));
  if (!ok) throw new TypeError(`--${flag} must be a ${integer ? 'non-negative integer' : 'non-negative number'}, got '${raw}'`);
  return value;
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
