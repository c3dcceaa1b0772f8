import type { CommandIo } from './io.js';
import { prepareExporter } from './start-exporter.js';

const SHUTDOWN_DEADLINE_MS = 9000;

/** `run`: serve /metrics and poll on the schedule until SIGTERM/SIGINT. */
export async function runCommand(args: string[], io: CommandIo): Promise<number> {
  const prepared = await prepareExporter(args, io);
  if ('exitCode' in prepared) return prepared.exitCode;
  const { exporter, logger } = prepared;
  await exporter.start();

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  logger.info({ signal }, 'shutting down');
  const deadline = setTimeout(() => {
    logger.error('shutdown took too long; exiting');
    logger.flush();
    process.exit(1);
  }, SHUTDOWN_DEADLINE_MS);
  deadline.unref();
  await exporter.stop();
  logger.info('stopped');
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  clearTimeout(deadline);
  return 0;
}
