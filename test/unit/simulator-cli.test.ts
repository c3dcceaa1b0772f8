import { describe, expect, it } from 'vitest';
import type { CommandIo } from '../../src/commands/io.js';
import { runCli } from '../../src/commands/program.js';

/** `simulate ARGS` in-process, as the command line runs it; `stop` ends it without a signal. */
const simulateCommand = (args: string[], io: CommandIo, stop?: AbortSignal): Promise<number> =>
  runCli(['simulate', ...args], stop ? { io, stop } : { io });

function captureIo(): CommandIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { env: {}, stdout: (line) => out.push(line), stderr: (line) => err.push(line), out, err };
}

describe('simulate command', () => {
  it.each([[['--bogus']], [['--port', 'abc']], [['--speed', '0']], [['--jobs', '1.5']], [['extra']]])(
    'rejects %j with exit 2 and a message',
    async (args) => {
      const io = captureIo();
      expect(await simulateCommand(args, io)).toBe(2);
      expect(io.err.join('\n')).toMatch(/simulate: .*\n\nusage:/s);
    },
  );

  it('documents every flag with its default in --help', async () => {
    const io = captureIo();
    expect(await simulateCommand(['--help'], io)).toBe(0);
    const help = io.out.join('\n');
    for (const flag of [
      '--port <n>',
      '--host <address>',
      '--jobs <n>',
      '--seed <n>',
      '--speed <x>',
      '--latency <ms>',
      '--token <token>',
      '--every <seconds>',
    ]) {
      expect(help).toContain(flag);
    }
    expect(help).toMatch(/--speed <x>[^]*real time[^]*\(default:\s+1\)/);
    expect(help).toMatch(/Exit codes:/);
  });

  it('runs in real time unless --speed says otherwise', async () => {
    for (const [args, speed] of [
      [[], '1x'],
      [['--speed', '60'], '60x'],
    ] as const) {
      const io = captureIo();
      const stop = new AbortController();
      const running = simulateCommand(['--jobs', '1', ...args], io, stop.signal);
      while (io.out.length === 0 && io.err.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(io.out[0]).toContain(`(speed ${speed})`);
      stop.abort();
      expect(await running).toBe(0);
    }
  });

  it('serves on loopback, prints the URL and job ids, and stops cleanly', async () => {
    const io = captureIo();
    const stop = new AbortController();
    const running = simulateCommand(['--port', '0', '--jobs', '2', '--seed', '7', '--token', 't'], io, stop.signal);
    while (io.out.length === 0 && io.err.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const match = /listening on (http:\/\/127\.0\.0\.1:\d+) .*jobs: ([0-9a-f]{32}) ([0-9a-f]{32})$/.exec(io.out[0] ?? '');
    expect(match, io.out[0]).not.toBeNull();
    const [, url, firstJob] = match as RegExpExecArray;
    const response = await fetch(`${url}/v1/job/${firstJob}/running-status`, { headers: { 'X-Auth-Token': 't' } });
    expect(response.status).toBe(200);
    stop.abort();
    expect(await running).toBe(0);
    await expect(fetch(`${url}/v1/job/${firstJob}/running-status`)).rejects.toThrow();
  });
});
