import cron from 'node-cron';

/** Seconds between the next two runs of a cron expression (the poll period). */
export function schedulePeriodSeconds(expression: string, timezone: string): number {
  const task = cron.createTask(expression, () => undefined, { timezone });
  try {
    const [first, second] = task.getNextRuns(2);
    if (!first || !second) return 60;
    return Math.max(1, (second.getTime() - first.getTime()) / 1000);
  } finally {
    void task.destroy();
  }
}
