import type { CommandIo } from '../commands/io.js';
import { runCli } from '../commands/program.js';

/** `codearts-build-exporter simulate ARGS`, in-process (the definition lives in src/commands). */
export function simulateCommand(args: string[], io: CommandIo, stop?: AbortSignal): Promise<number> {
  return runCli(['simulate', ...args], stop ? { io, stop } : { io });
}
