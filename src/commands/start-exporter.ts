import pino from 'pino';
import { loadConfig, ConfigError, type Config } from '../config/load.js';
import { Exporter } from '../exporter.js';
import { createLogger, type Logger } from '../log/logger.js';
import { StateFileError } from '../state/file-store.js';
import { parseConfigArgs } from './config-arg.js';
import { EXIT_INVALID_CONFIG, type CommandIo } from './io.js';

/** Config + logger + exporter from command-line args; an exit code instead when that fails. */
export async function prepareExporter(
  args: string[],
  io: CommandIo,
  logTo: 'stdout' | 'stderr' = 'stdout',
): Promise<{ exporter: Exporter; logger: Logger; config: Config } | { exitCode: number }> {
  const parsed = parseConfigArgs(args);
  if ('error' in parsed) {
    io.stderr(`invalid arguments: ${parsed.error}`);
    return { exitCode: EXIT_INVALID_CONFIG };
  }
  let config: Config;
  try {
    config = await loadConfig({ file: parsed.config, env: io.env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr(error.message);
    return { exitCode: EXIT_INVALID_CONFIG };
  }
  const logger = createLogger(config.log.level, pino.destination({ dest: logTo === "stdout" ? 1 : 2, sync: true }));
  try {
    const exporter = await Exporter.create({ config, logger });
    return { exporter, logger, config };
  } catch (error) {
    if (error instanceof StateFileError) {
      logger.fatal({ path: config.state.path }, error.message);
      logger.flush();
      io.stderr(error.message);
      return { exitCode: 1 };
    }
    throw error;
  }
}
