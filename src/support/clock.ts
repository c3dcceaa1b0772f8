import { abortReason } from './abort.js';

/**
 * The one source of time. Wall time (`now`) for timestamps, ages and expiries; monotonic time for
 * rates, timeouts and durations, which must not jump with the wall clock; `sleep` on the same
 * clock, so a test clock can make waits instant.
 */
export interface Clock {
  /** Unix time in milliseconds. */
  now(): number;
  /** Milliseconds on a monotonic scale (only differences mean anything). */
  monotonic(): number;
  /** Resolves after `ms`; rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Resolves after `ms` of real time, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  sleep,
};

/** The system clock with its wall time taken from elsewhere (tests and the bench: the simulator's virtual time). */
export function withWallTime(now: () => number, base: Clock = systemClock): Clock {
  return { now, monotonic: () => base.monotonic(), sleep: (ms, signal) => base.sleep(ms, signal) };
}

/** Unix seconds on the clock's wall time. */
export function unixSeconds(clock: Clock): number {
  return clock.now() / 1000;
}
