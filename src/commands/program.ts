import { Command, CommanderError } from 'commander';
import { closestMatch } from '../config/suggest.js';
import { VERSION } from '../version.js';
import { configOption, EXIT_CODES_HELP, ENVIRONMENT_HELP, type CliContext } from './cli-kit.js';
import { EXIT_INVALID_CONFIG } from './io.js';
import type { ExporterArgs } from './start-exporter.js';
import type { OnceArgs } from './once.js';
import type { BackfillArgs } from './backfill.js';
import { simulateOptions } from './simulate-options.js';

export const PROGRAM = 'codearts-build-exporter';
const COMMANDS = ['run', 'validate', 'once', 'backfill', 'simulate', 'state', 'version', 'help'] as const;

/**
 * Parses the command line and runs the command; resolves with the process exit code. Output goes
 * through `context.io` only, so tests can run the CLI in-process.
 */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  const { io } = context;
  const [first] = argv;
  if (first !== undefined && !first.startsWith('-') && !(COMMANDS as readonly string[]).includes(first)) {
    const guess = closestMatch(first, COMMANDS);
    io.stderr(`${PROGRAM}: unknown command '${first}'${guess ? ` (did you mean '${guess}'?)` : ''}`);
    io.stderr(`usage: ${PROGRAM} [command] [options] (--help for the list of commands)`);
    return EXIT_INVALID_CONFIG;
  }
  const result = { code: 0 };
  const program = createProgram(context, result);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return result.code;
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    // Help and version end with exit code 0; anything else commander rejects is a usage error.
    if (error.exitCode === 0) return 0;
    const command = commandName(argv);
    io.stderr(`${command ? `${command}: ` : ''}${error.message.replace(/^error: /, '')}`);
    io.stderr('');
    io.stderr(`usage: ${PROGRAM} ${command ? `${command} ` : ''}[options] (--help for details)`);
    return EXIT_INVALID_CONFIG;
  }
}

function commandName(argv: readonly string[]): string | undefined {
  const [first] = argv;
  if (first === undefined || first.startsWith('-')) return 'run';
  return first === 'help' ? undefined : first;
}

type Done = (code: number) => void;

/** The whole command tree; each action stores its exit code in `result`. */
export function createProgram(context: CliContext, result: { code: number }): Command {
  const done: Done = (code) => {
    result.code = code;
  };
  const program = configure(new Command(PROGRAM), context)
    .description('Prometheus exporter for Huawei Cloud CodeArts Build: build counts, durations and queue times.')
    .version(`${PROGRAM} ${VERSION}`, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'show help (also: help COMMAND, or COMMAND --help)')
    .helpCommand('help [command]', 'show help for a command')
    .addHelpText(
      'after',
      `\n${ENVIRONMENT_HELP}\n\n${EXIT_CODES_HELP}\n\nWith no command, \`run\` is assumed: \`${PROGRAM} --config FILE\` runs the exporter.`,
    );
  program.addCommand(runCommand(context, done), { isDefault: true });
  program.addCommand(validateCommand(context, done));
  program.addCommand(onceCommand(context, done));
  program.addCommand(backfillCommand(context, done));
  program.addCommand(simulateCommand(context, done));
  program.addCommand(stateCommand(context, done));
  program.addCommand(
    configure(new Command('version'), context)
      .description('print the version (same as --version)')
      .action(() => {
        context.io.stdout(`${PROGRAM} ${VERSION}`);
        done(0);
      }),
  );
  return program;
}

function runCommand(context: CliContext, done: Done): Command {
  return configure(new Command('run'), context)
    .description('run the exporter: poll CodeArts on the schedule and serve /metrics (the default command)')
    .addOption(configOption())
    .addHelpText('after', `\nStops on SIGTERM or SIGINT, saving state first.\n\n${ENVIRONMENT_HELP}\n\n${EXIT_CODES_HELP}`)
    .action(async (options: ExporterArgs) => {
      const { run } = await import('./run.js');
      done(await run(options, context.io));
    });
}

function validateCommand(context: CliContext, done: Done): Command {
  return configure(new Command('validate'), context)
    .description('check a config file without calling CodeArts; prints a summary or one line per problem')
    .addOption(configOption())
    .addHelpText(
      'after',
      '\nExit codes:\n  0  the config is valid\n  2  invalid config or arguments (one line per problem, naming the key; secrets never shown)',
    )
    .action(async (options: { config?: string }) => {
      const { validate } = await import('./validate.js');
      done(await validate(options, context.io));
    });
}

/** `once`; its options are ExporterArgs, so a new option there reaches prepareExporter as is. */
function onceCommand(context: CliContext, done: Done): Command {
  return configure(new Command('once'), context)
    .description('run one poll cycle, print the metrics on stdout and exit (logs go to stderr)')
    .addOption(configOption())
    .option(
      '--state <file>',
      'poll with this state file (committing to it, under its lock); by default once works on a copy of state.path and never writes it',
    )
    .addHelpText(
      'after',
      `\n${ENVIRONMENT_HELP}\n\nExit codes:\n  0  the cycle reached CodeArts for at least one job\n  1  no job was reached, or the state file is unusable\n  2  invalid config or arguments`,
    )
    .action(async (options: OnceArgs) => {
      const { once } = await import('./once.js');
      done(await once(options, context.io));
    });
}

function backfillCommand(context: CliContext, done: Done): Command {
  return configure(new Command('backfill'), context)
    .description('write the builds from before each job began counting as an OpenMetrics file for promtool (docs/backfill.md)')
    .addOption(configOption())
    .requiredOption('-o, --out <file>', 'the OpenMetrics file to write (FILE.progress keeps an interrupted run)')
    .option('--since <duration|time>', 'how far back: a duration before now (30d) or a time (2026-11-01, UTC without a zone)', '30d')
    .option('--step <duration>', 'one sample per series every step, like a scrape interval (1m: 5 x the file)', '5m')
    .option(
      '--label <name=value>',
      'a label Prometheus adds when it scrapes the exporter (repeatable; job and instance default to the scrape config of --prometheus-config)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      '--prometheus-config <file>',
      'the Prometheus config that scrapes the exporter (for the default job and instance)',
      'config/prometheus.yml',
    )
    .option('--queue-times', 'also backfill the queue-time histogram (one record-info request per build)')
    .addHelpText(
      'after',
      '\nThen: promtool tsdb create-blocks-from openmetrics FILE PROMETHEUS_DATA_DIR (docs/backfill.md).\n\n' +
        'Exit codes:\n  0  the file is written\n  1  a job or the state could not be read (run again to continue)\n' +
        '  2  invalid config or arguments\n  130  interrupted (run the same command again to continue)',
    )
    .action(async (options: BackfillArgs) => {
      const { backfill } = await import('./backfill.js');
      done(await backfill(options, context.io, context.stop, process.stderr.isTTY));
    });
}

function stateCommand(context: CliContext, done: Done): Command {
  const state = configure(new Command('state'), context).description('manage the saved state');
  state.addCommand(
    configure(new Command('import'), context)
      .description('copy a state file (cursors, pending builds, counters) into the Redis of state.redis, so no build is counted again')
      .addOption(configOption())
      .option('--from <file>', 'the state file to import (default: state.path of the config)')
      .addHelpText(
        'after',
        '\nStop the exporter that uses the file first (the file is read under its lock and never changed).\n' +
          'A job Redis already holds is left as it is.\n\nExit codes:\n  0  imported\n  1  the file or Redis cannot be used\n  2  invalid config or arguments',
      )
      .action(async (options: { config?: string; from?: string }) => {
        const { stateImport } = await import('./state-import.js');
        done(await stateImport(options, context.io));
      }),
  );
  return state;
}

function simulateCommand(context: CliContext, done: Done): Command {
  const simulate = configure(new Command('simulate'), context)
    .description('run the bundled fake CodeArts Build API (for demos and tests) until SIGINT or SIGTERM')
    .addHelpText(
      'after',
      '\nThe simulated clock runs at --speed virtual seconds per real second (default 1: real time, so build\n' +
        'timestamps stay comparable with the wall clock). Every job gets a history of finished builds and\n' +
        'new builds about every --every simulated seconds. It prints its URL and job ids on stdout.\n\n' +
        'Exit codes:\n  0  stopped by a signal\n  1  cannot start (e.g. the port is in use)\n  2  invalid options',
    );
  for (const option of simulateOptions()) simulate.addOption(option);
  return simulate.action(async (options: Record<string, unknown>) => {
    const { runSimulator } = await import('./simulate.js');
    done(await runSimulator(options, context.io, context.stop));
  });
}

/** Settings every command needs: no process.exit, output through io, no stray arguments. */
function configure(command: Command, { io }: CliContext): Command {
  return command
    .exitOverride()
    .allowExcessArguments(false)
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (text) => io.stdout(text.replace(/\n$/, '')),
      writeErr: (text) => io.stderr(text.replace(/\n$/, '')),
      // runCli prints commander's errors itself, with the command's usage line.
      outputError: () => undefined,
    });
}
