import type { CommandIo } from './io.js';
import { prepareExporter, type ExporterArgs } from './start-exporter.js';

/** `once`: one poll cycle, print the exposition, exit (1 when the cycle reached no job). */
export async function once(options: ExporterArgs, io: CommandIo): Promise<number> {
  const prepared = await prepareExporter(options, io, 'stderr');
  if ('exitCode' in prepared) return prepared.exitCode;
  const { exporter, logger } = prepared;
  const summary = await exporter.runCycle();
  io.stdout(await exporter.renderMetrics());
  await exporter.stop();
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  return summary.outcome === 'failure' ? 1 : 0;
}
