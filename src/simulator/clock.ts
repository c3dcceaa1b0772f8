/** Virtual time of the simulated world, in Unix milliseconds. */
export interface VirtualClock {
  nowMs(): number;
  /** Moves virtual time forward; in realtime mode this jumps ahead of the running clock. */
  advance(seconds: number): void;
}

/**
 * manual: time moves only by advance(). realtime: startTime + elapsed real time x speed.
 * `realNowMs` is injected so the realtime mode can be tested without waiting.
 */
export function createClock(mode: 'manual' | 'realtime', startMs: number, speed: number, realNowMs: () => number): VirtualClock {
  const realStart = realNowMs();
  let offsetMs = 0;
  return {
    nowMs: () => {
      const running = mode === 'realtime' ? (realNowMs() - realStart) * speed : 0;
      return startMs + offsetMs + Math.floor(running);
    },
    advance: (seconds) => {
      if (!Number.isFinite(seconds) || seconds < 0) {
        throw new RangeError(`advance() needs a finite, non-negative number of seconds, got ${seconds}`);
      }
      offsetMs += Math.round(seconds * 1000);
    },
  };
}
