import pino from 'pino';
import { loadConfig, ConfigError, type Config } from '../config/load.js';
import { summarizeConfig } from '../config/describe.js';
import { Exporter, type ExporterOptions } from '../exporter.js';
import { createLogger, type Logger } from '../log/logger.js';
import { StateFileError } from '../state/file-store.js';
import { VERSION } from '../version.js';
import { StateLockedError } from '../state/state-lock.js';
import { EXIT_INVALID_CONFIG, type CommandIo } from './io.js';

/** Options shared by `run` and `once`. */
export interface ExporterArgs {
  config?: string;
}

/** Config + logger + exporter from the parsed options; an exit code instead when that fails. */
export async function prepareExporter(
  options: ExporterArgs,
  io: CommandIo,
  logTo: 'stdout' | 'stderr' = 'stdout',
  /** Replaces the config's state file (`once` works on a copy unless given --state). */
  openStore?: (config: Config) => ExporterOptions['openStore'],
): Promise<{ exporter: Exporter; logger: Logger; config: Config } | { exitCode: number }> {
  let config: Config;
  try {
    config = await loadConfig({ file: options.config, env: io.env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr(error.message);
    return { exitCode: EXIT_INVALID_CONFIG };
  }
  const destination = pino.destination({ dest: logTo === 'stdout' ? 1 : 2, sync: true });
  const logger = createLogger(config.log.level, destination, config.log.format);
  logger.info({ version: VERSION, node: process.version, config: summarizeConfig(config) }, 'codearts-build-exporter starting');
  try {
    const store = openStore?.(config);
    const exporter = await Exporter.create({ config, logger, ...(store ? { openStore: store } : {}) });
    return { exporter, logger, config };
  } catch (error) {
    if (error instanceof StateFileError || error instanceof StateLockedError) {
      const fields =
        error instanceof StateLockedError
          ? { path: error.statePath, lock: error.lockPath, holder: error.holder }
          : { path: config.state.path };
      logger.fatal(fields, error.message);
      logger.flush();
      io.stderr(error.message);
      return { exitCode: 1 };
    }
    throw error;
  }
}
