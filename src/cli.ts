#!/usr/bin/env node
import type { CommandIo } from './commands/io.js';
import { EXIT_INVALID_CONFIG } from './commands/io.js';
import { VERSION } from './version.js';

const USAGE = `usage: codearts-build-exporter [command] [options]

commands:
  run       --config FILE   run the exporter (default command)
  validate  --config FILE   check a config file; no network calls
  once      --config FILE [--state FILE]
                            run one poll cycle, print the metrics, exit; works on a
                            copy of the state unless --state names the file to use
  simulate  [--port N] [--jobs N] [--seed N] [--speed X] [--latency MS]
                            run the fake CodeArts Build API
  version                   print the version

The config file defaults to $CODEARTS_EXPORTER_CONFIG, else config/exporter.yml.`;

type Command = (args: string[], io: CommandIo) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./commands/run.js')).runCommand,
  once: async () => (await import('./commands/once.js')).onceCommand,
  validate: async () => (await import('./commands/validate.js')).validateCommand,
  simulate: async () => (await import('./simulator/cli.js')).simulateCommand,
  version: async () => async (_args, io) => {
    io.stdout(`codearts-build-exporter ${VERSION}`);
    return 0;
  },
};

async function main(argv: string[]): Promise<number> {
  const io: CommandIo = {
    env: process.env,
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
  };
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  const named = first !== undefined && !first.startsWith('-');
  const name = named ? first : 'run';
  const load = COMMANDS[name];
  if (!load) {
    io.stderr(`unknown command '${name}'\n\n${USAGE}`);
    return EXIT_INVALID_CONFIG;
  }
  const command = await load();
  return command(named ? rest : argv, io);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`fatal: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
