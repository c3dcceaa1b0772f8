import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../log/logger.js';
import type { Events } from '../support/events.js';
import type { PollerEvent } from './events.js';

export interface PollScheduleOptions {
  expression: string;
  timezone: string;
  /** Where node-cron's own messages go. */
  logger: Logger;
  events: Events<PollerEvent>;
  /** One poll cycle; receives a signal that aborts on shutdown. */
  runCycle: (signal: AbortSignal) => Promise<unknown>;
}

/**
 * Runs cycles on a cron schedule, never two at once: a tick that finds a cycle still running is
 * skipped, counted and logged. The first cycle runs right away so the exporter is ready quickly.
 */
export class PollSchedule {
  private task: ScheduledTask | undefined;
  private running: Promise<unknown> | undefined;
  private readonly abort = new AbortController();

  constructor(private readonly options: PollScheduleOptions) {}

  start(): void {
    const { expression, timezone, logger } = this.options;
    this.task = cron.createTask(expression, () => this.tick('schedule'), {
      timezone,
      name: 'codearts-poll',
      logger: {
        info: (message) => logger.debug({ source: 'node-cron' }, message),
        warn: (message) => logger.warn({ source: 'node-cron' }, message),
        error: (message) => logger.error({ source: 'node-cron' }, String(message)),
        debug: (message) => logger.debug({ source: 'node-cron' }, String(message)),
      },
    });
    void this.task.start();
    this.tick('startup');
  }

  /** Resolves when the cycle in flight (if any) has ended. */
  idle(): Promise<void> {
    return Promise.resolve(this.running).then(() => undefined);
  }

  /** Stops the schedule, aborts the running cycle and waits for it. */
  async stop(): Promise<void> {
    await this.task?.destroy();
    this.abort.abort(new Error('shutting down'));
    await this.idle();
  }

  private tick(reason: 'schedule' | 'startup'): void {
    if (this.abort.signal.aborted) return;
    if (this.running) {
      this.options.events.emit({ type: 'cycle_skipped', reason });
      return;
    }
    this.running = this.options
      .runCycle(this.abort.signal)
      .catch((error: unknown) => this.options.events.emit({ type: 'cycle_failed', error }))
      .finally(() => {
        this.running = undefined;
      });
  }
}
