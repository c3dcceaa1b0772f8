import { Option } from 'commander';
import type { CommandIo } from './io.js';

/** What a command run needs from outside; `stop` ends long-running commands in tests. */
export interface CliContext {
  io: CommandIo;
  stop?: AbortSignal;
}

/** `-c, --config FILE`, shared by run, validate and once. */
export function configOption(): Option {
  return new Option('-c, --config <file>', 'config file (default: $CODEARTS_EXPORTER_CONFIG, else config/exporter.yml)');
}

export const ENVIRONMENT_HELP = `Environment:
  CODEARTS_EXPORTER_CONFIG  config file when --config is not given
  LOG_LEVEL                 overrides log.level: fatal, error, warn, info, debug, trace, silent
  LOG_FORMAT                overrides log.format: json (one object per line) or text (for a terminal)
  \${VAR} in the config     any variable, interpolated into string values`;

export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  runtime failure: unusable state file, listen address in use, \`once\` reached no job
  2  invalid config or arguments (one line per problem, naming the key; secrets never shown)`;
