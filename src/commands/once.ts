import { FileStore } from '../state/file-store.js';
import { MemoryStore } from '../state/memory-store.js';
import type { CommandIo } from './io.js';
import { prepareExporter, type ExporterArgs } from './start-exporter.js';

export interface OnceArgs extends ExporterArgs {
  /** Poll with this state file (under its lock) instead of a copy of the configured one. */
  state?: string;
}

/**
 * `once`: one poll cycle, print the exposition, exit (1 when the cycle reached no job). It works on
 * a copy of the configured state (read, never written), so a service running on that file is not
 * disturbed; `--state FILE` polls with FILE as its state, committing to it under its lock.
 */
export async function once(options: OnceArgs, io: CommandIo): Promise<number> {
  const { state, ...exporterArgs } = options;
  const prepared = await prepareExporter(
    exporterArgs,
    io,
    'stderr',
    (config) => async (layout, events) =>
      state
        ? FileStore.open(state, { layout, events })
        : new MemoryStore(layout, await FileStore.readSnapshot(config.state.path, { layout, events })),
  );
  if ('exitCode' in prepared) return prepared.exitCode;
  const { exporter, logger } = prepared;
  const summary = await exporter.runCycle();
  io.stdout(await exporter.renderMetrics());
  await exporter.stop();
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  return summary.outcome === 'failure' ? 1 : 0;
}
