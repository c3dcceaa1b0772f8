import { describeCapacity } from '../config/capacity.js';
import { ConfigError, describeConfig, loadConfig, resolveConfigPath } from '../config/load.js';
import type { CommandIo } from './io.js';
import { EXIT_INVALID_CONFIG } from './io.js';

/** `validate`: loads the config like `run` would, prints a summary or the problems. No network. */
export async function validate(options: { config?: string }, io: CommandIo): Promise<number> {
  const path = resolveConfigPath(options.config, io.env);
  try {
    const config = await loadConfig({ file: path, env: io.env });
    io.stdout(`config OK: ${describeConfig(config)}`);
    const capacity = describeCapacity(config);
    io.stdout(capacity.line);
    for (const warning of capacity.warnings) io.stderr(`warning: ${warning}`);
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr(`config invalid: ${path}`);
    for (const problem of error.problems) io.stderr(problem);
    return EXIT_INVALID_CONFIG;
  }
}
