import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { LogLine } from './exporter-harness.js';
import { sleep } from '../../src/support/clock.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');

/** Writes a YAML config for a child exporter and returns its path. */
export function writeConfig(dir: string, config: Record<string, unknown>, name = 'exporter.yml'): string {
  const path = join(dir, name);
  writeFileSync(path, stringify(config));
  return path;
}

/** The built exporter (`node dist/cli.js`) as a child process, its JSON log lines collected. */
export class ExporterProcess {
  readonly lines: LogLine[] = [];
  stderr = '';
  private buffer = '';
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.consume(chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  static spawn(args: string[], env: NodeJS.ProcessEnv = {}, options: { cwd?: string; uid?: number; gid?: number } = {}): ExporterProcess {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...options,
    });
    return new ExporterProcess(child);
  }

  /** Starts `run --config FILE` and waits until it listens; resolves with its base URL. */
  static async run(configPath: string, env: NodeJS.ProcessEnv = {}): Promise<{ process: ExporterProcess; url: string }> {
    const started = ExporterProcess.spawn(['run', '--config', configPath], env);
    const line = await started.waitForLog((l) => l.msg === 'exporter listening', 15_000);
    return { process: started, url: String(line.url) };
  }

  async waitForLog(predicate: (line: LogLine) => boolean, timeoutMs: number): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(predicate);
      if (found) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(
          `exporter exited (${this.child.exitCode ?? this.child.signalCode}) before the expected log line; stderr: ${this.stderr}`,
        );
      }
      if (Date.now() > deadline) throw new Error(`no matching log line within ${timeoutMs} ms; stderr: ${this.stderr}`);
      await sleep(20);
    }
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  async exit(timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  private consume(chunk: string): void {
    this.buffer += chunk;
    let newline = this.buffer.indexOf('\n');
    while (newline >= 0) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + 1);
      if (line.trim().startsWith('{')) this.lines.push(JSON.parse(line) as LogLine);
      newline = this.buffer.indexOf('\n');
    }
  }
}
