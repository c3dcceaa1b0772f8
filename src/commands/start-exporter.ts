import pino from 'pino';
import { loadConfig, ConfigError, type Config } from '../config/load.js';
import { Exporter } from '../exporter.js';
import { createLogger, type Logger } from '../log/logger.js';
import { StateFileError } from '../state/file-store.js';
import { StateLockedError } from '../state/state-lock.js';
import type { Store } from '../state/store.js';
import { parseConfigArgs } from './config-arg.js';
import { EXIT_INVALID_CONFIG, type CommandIo } from './io.js';

/** Config + logger + exporter from command-line args; an exit code instead when that fails. */
export async function prepareExporter(
  args: string[],
  io: CommandIo,
  logTo: 'stdout' | 'stderr' = 'stdout',
  /** Replaces the config's state file (`once` works on a copy unless given --state). */
  openStore?: (config: Config) => Promise<Store | undefined>,
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
    const store = await openStore?.(config);
    const exporter = await Exporter.create({ config, logger, ...(store ? { store } : {}) });
    return { exporter, logger, config };
  } catch (error) {
    if (error instanceof StateFileError || error instanceof StateLockedError) {
      const fields = error instanceof StateLockedError ? { path: error.statePath, lock: error.lockPath, holder: error.holder } : { path: config.state.path };
      logger.fatal(fields, error.message);
      logger.flush();
      io.stderr(error.message);
      return { exitCode: 1 };
    }
    throw error;
  }
}
