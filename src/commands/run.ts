import { ListenError } from '../server/listen.js';
import type { CommandIo } from './io.js';
import { prepareExporter, type ExporterArgs } from './start-exporter.js';

const SHUTDOWN_DEADLINE_MS = 9000;

/** `run`: serve /metrics and poll on the schedule until SIGTERM/SIGINT. */
export async function run(options: ExporterArgs, io: CommandIo): Promise<number> {
  const prepared = await prepareExporter(options, io);
  if ('exitCode' in prepared) return prepared.exitCode;
  const { exporter, logger } = prepared;
  try {
    await exporter.start();
  } catch (error) {
    if (!(error instanceof ListenError)) throw error;
    logger.fatal({ err: error, host: error.host, port: error.port }, error.message);
    await exporter.stop();
    logger.flush();
    return 1;
  }

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
