import { fork, type ChildProcess } from 'node:child_process';

/** One command to a bench child process and its answer, over Node's IPC channel. */
interface Request {
  id: number;
  command: string;
  args: unknown;
}
interface Response {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

/**
 * A fresh Node process running `host.js`, so that what it measures (RSS above all) is not polluted
 * by the simulator or by earlier scenarios, and so the simulator and the exporter do not share one
 * event loop (the real API is on another machine).
 */
export class BenchChild {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private exited: Error | undefined;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: Response) => {
      const waiter = this.waiting.get(message.id);
      if (!waiter) return;
      this.waiting.delete(message.id);
      if (message.ok) waiter.resolve(message.value);
      else waiter.reject(new Error(message.error ?? 'bench child failed'));
    });
    child.on('exit', (code, signal) => {
      this.exited = new Error(`bench child exited (${signal ?? code})`);
      for (const waiter of this.waiting.values()) waiter.reject(this.exited);
      this.waiting.clear();
    });
  }

  static start(execArgv: string[] = []): BenchChild {
    const entry = new URL('./host.js', import.meta.url);
    // BENCH_CHILD_ARGS, e.g. "--cpu-prof --cpu-prof-dir=.tmp/prof", profiles the exporter side.
    const extra = (process.env.BENCH_CHILD_ARGS ?? '').split(' ').filter(Boolean);
    // BENCH_CHILD_NODE: another Node binary for the exporter's process (the image runs Node 24).
    const execPath = process.env.BENCH_CHILD_NODE || process.execPath;
    const child = fork(entry, [], {
      execPath,
      execArgv: ['--expose-gc', ...extra, ...execArgv],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new BenchChild(child);
  }

  call<T>(command: string, args: unknown = {}): Promise<T> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ id, command, args } satisfies Request);
    });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ id: 0, command: 'exit', args: {} } satisfies Request);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Handlers take the arguments the parent sent, as each declares them (IPC carries no types). */
export type Handlers = Record<string, (args: never) => unknown>;

/** The child's side: answers each command with the handler's (awaited) value. */
export function serve(handlers: Handlers): void {
  process.on('message', (message: Request) => {
    if (message.command === 'exit') {
      process.disconnect();
      setImmediate(() => process.exit(0));
      return;
    }
    const handler = handlers[message.command];
    const reply = (response: Response) => process.send?.(response);
    if (!handler) {
      reply({ id: message.id, ok: false, error: `unknown command ${message.command}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message.args as never))
      .then(
        (value) => reply({ id: message.id, ok: true, value }),
        (error: unknown) =>
          reply({ id: message.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
  });
}
