import { parseArgs } from 'node:util';

/** Parses `--config FILE` (`-c`); returns an error message for anything else. */
export function parseConfigArgs(args: string[]): { config?: string } | { error: string } {
  try {
    const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } }, strict: true, allowPositionals: false });
    return values.config ? { config: values.config } : {};
  } catch (error) {
    return { error: (error as Error).message };
  }
}
