import { describe, expect, it } from 'vitest';
import { RequestBudget } from '../../src/codearts/request-budget.js';
import { ManualClock } from '../helpers/clock.js';

/**
 * The client-side request budget (src/codearts/request-budget.ts) on a clock that jumps to each
 * wake-up: when each request may start, measured without waiting.
 */
async function starts(budget: RequestBudget, clock: ManualClock, count: number): Promise<number[]> {
  const at: number[] = [];
  for (let i = 0; i < count; i++) {
    await budget.acquire();
    at.push(clock.monotonic());
  }
  return at;
}

const maxInWindow = (times: number[]) => Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 1000).length));

describe('request budget', () => {
  it('spaces requests evenly at the configured rate, never more than the rate in any second', async () => {
    const clock = new ManualClock(0, { autoAdvance: true });
    const budget = new RequestBudget(10, undefined, clock);
    const times = await starts(budget, clock, 50);
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    // 1/rate apart, give or take the 2 ms a start may catch up on a late timer, which the sliding
    // one-second window then takes back.
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(98);
      expect(gap).toBeLessThanOrEqual(102);
    }
    expect(maxInWindow(times)).toBe(10);
    expect((times.at(-1) ?? 0) / 49).toBeCloseTo(100, 0);
  });

  it('admits in arrival order when many wait at once', async () => {
    const clock = new ManualClock(0);
    const budget = new RequestBudget(2, undefined, clock);
    const order: number[] = [];
    const waiting = [0, 1, 2, 3].map((i) => budget.acquire().then(() => order.push(i)));
    for (let t = 0; t < 10 && order.length < 4; t++) {
      await new Promise((resolve) => setImmediate(resolve));
      clock.advance(500);
    }
    await Promise.all(waiting);
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it('halves the rate on throttling (once a second, down to the floor) and gives back a tenth per quiet second', () => {
    const clock = new ManualClock(0);
    const budget = new RequestBudget(10, 1, clock);
    budget.penalize();
    budget.penalize();
    expect(budget.currentRate()).toBe(5);
    clock.advance(1000);
    budget.penalize();
    expect(budget.currentRate()).toBe(2.5);
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      budget.penalize();
    }
    expect(budget.currentRate()).toBe(1);
    budget.reward();
    expect(budget.currentRate()).toBe(1);
    const recovered: number[] = [];
    for (let i = 0; i < 12; i++) {
      clock.advance(1000);
      budget.reward();
      budget.reward();
      recovered.push(budget.currentRate());
    }
    expect(recovered.slice(0, 3)).toEqual([2, 3, 4]);
    expect(recovered.at(-1)).toBe(10);
  });

  it('stops waiting when the signal aborts', async () => {
    const clock = new ManualClock(0);
    const budget = new RequestBudget(1, undefined, clock);
    await budget.acquire();
    const abort = new AbortController();
    const waiting = budget.acquire(abort.signal);
    abort.abort(new Error('shutting down'));
    await expect(waiting).rejects.toThrow('shutting down');
    // The queue goes on for the next caller.
    clock.advance(1000);
    await budget.acquire();
  });
});
