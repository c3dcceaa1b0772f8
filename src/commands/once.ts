import { parseArgs } from 'node:util';
import { FileStore } from '../state/file-store.js';
import { MemoryStore } from '../state/memory-store.js';
import { EXIT_INVALID_CONFIG, type CommandIo } from './io.js';
import { prepareExporter } from './start-exporter.js';

/**
 * `once`: one poll cycle, print the exposition, exit (1 when the cycle reached no job). It works on
 * a copy of the configured state (read, never written), so a service running on that file is not
 * disturbed; `--state FILE` polls with FILE as its state, committing to it under its lock.
 */
export async function onceCommand(args: string[], io: CommandIo): Promise<number> {
  let values: { config?: string | undefined; state?: string | undefined };
  try {
    ({ values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, state: { type: 'string' } }, strict: true, allowPositionals: false }));
  } catch (error) {
    io.stderr(`invalid arguments: ${(error as Error).message}`);
    return EXIT_INVALID_CONFIG;
  }
  const { config: configPath, state } = values;
  const prepared = await prepareExporter(configPath ? ['--config', configPath] : [], io, 'stderr', async (config) =>
    state ? FileStore.open(state) : new MemoryStore(await FileStore.readSnapshot(config.state.path)),
  );
  if ('exitCode' in prepared) return prepared.exitCode;
  const { exporter, logger } = prepared;
  const summary = await exporter.runCycle();
  io.stdout(await exporter.renderMetrics());
  await exporter.stop();
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  return summary.outcome === 'failure' ? 1 : 0;
}
