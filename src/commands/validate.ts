import { parseArgs } from 'node:util';
import { ConfigError, describeConfig, loadConfig, resolveConfigPath } from '../config/load.js';
import type { CommandIo } from './io.js';
import { EXIT_INVALID_CONFIG } from './io.js';

const USAGE = 'usage: codearts-build-exporter validate [--config FILE]';

/** `validate`: loads the config like `run` would, prints a summary or the problems. No network. */
export async function validateCommand(args: string[], io: CommandIo): Promise<number> {
  let file: string | undefined;
  try {
    const { values } = parseArgs({
      args,
      options: { config: { type: 'string', short: 'c' } },
      strict: true,
      allowPositionals: false,
    });
    file = values.config;
  } catch (error) {
    io.stderr(`validate: ${(error as Error).message}`);
    io.stderr(USAGE);
    return EXIT_INVALID_CONFIG;
  }

  const path = resolveConfigPath(file, io.env);
  try {
    const config = await loadConfig({ file: path, env: io.env });
    io.stdout(`config OK: ${describeConfig(config)}`);
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr(`config invalid: ${path}`);
    for (const problem of error.problems) io.stderr(problem);
    return EXIT_INVALID_CONFIG;
  }
}
