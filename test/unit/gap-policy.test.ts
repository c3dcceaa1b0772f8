import { describe, expect, it } from 'vitest';
import {
  afterCycle,
  FAR_PROBE_EVERY,
  FIRST_FAR_EXPONENT,
  FIRST_GAP_CHECK_AFTER,
  freshGapMemory,
  isFarProbeDue,
  isGapCheckDue,
  MAX_FAR_EXPONENT,
  MAX_GAP_CHECK_SECONDS,
  type GapMemory,
} from '../../src/poller/gap-policy.js';

/** The gap policy (src/poller/gap-policy.ts) as pure functions: when a quiet job looks past its next number. */
const T0 = 1_767_225_600;
const PERIOD = 30;

/** Quiet cycles at PERIOD seconds, checking whenever due; the times of the checks. */
function quietChecks(cycles: number, start: GapMemory = freshGapMemory(T0)): number[] {
  let memory = start;
  const checks: number[] = [];
  for (let i = 1; i <= cycles; i++) {
    const now = T0 + i * PERIOD;
    const checked = isGapCheckDue(memory, now);
    if (checked) checks.push(now);
    memory = afterCycle(memory, { now, newBuilds: 0, checked, farProbed: false });
  }
  return checks;
}

describe('gap policy', () => {
  it(`checks ${FIRST_GAP_CHECK_AFTER} cycles after the last new build`, () => {
    expect(quietChecks(FIRST_GAP_CHECK_AFTER - 1)).toEqual([]);
    expect(quietChecks(FIRST_GAP_CHECK_AFTER)).toEqual([T0 + FIRST_GAP_CHECK_AFTER * PERIOD]);
  });

  it(`then whenever the next cycle would be more than ${MAX_GAP_CHECK_SECONDS} s after the last check, never more often than every ${FIRST_GAP_CHECK_AFTER} cycles`, () => {
    const checks = quietChecks(200);
    const intervals = checks.slice(1).map((at, i) => at - (checks[i] ?? 0));
    expect(checks.length).toBeGreaterThan(5);
    for (const interval of intervals) {
      expect(interval).toBeLessThanOrEqual(MAX_GAP_CHECK_SECONDS);
      expect(interval).toBeGreaterThanOrEqual(FIRST_GAP_CHECK_AFTER * PERIOD);
    }
  });

  it('a new build resets the backoff; a check restarts its clock', () => {
    const checked = afterCycle(
      { ...freshGapMemory(T0), quietCycles: 20, cyclesSinceCheck: 7, fruitlessChecks: 3, farExponent: 5 },
      { now: T0 + 600, newBuilds: 0, checked: true, farProbed: true },
    );
    expect(checked).toMatchObject({
      quietCycles: 21,
      cyclesSinceCheck: 0,
      lastCheckAt: T0 + 600,
      fruitlessChecks: 4,
      farExponent: 6,
      lastPolledAt: T0 + 600,
    });
    const fresh = afterCycle(checked, { now: T0 + 630, newBuilds: 2, checked: false, farProbed: false });
    expect(fresh).toMatchObject({
      quietCycles: 0,
      cyclesSinceCheck: 0,
      lastCheckAt: T0 + 630,
      fruitlessChecks: 0,
      farExponent: FIRST_FAR_EXPONENT,
    });
  });

  it(`looks far ahead on every ${FAR_PROBE_EVERY}th fruitless check, each time twice as far, up to 2^${MAX_FAR_EXPONENT}`, () => {
    const due = Array.from({ length: 3 * FAR_PROBE_EVERY }, (_, i) => isFarProbeDue({ ...freshGapMemory(T0), fruitlessChecks: i }));
    expect(due.filter(Boolean)).toHaveLength(3);
    expect(due[FAR_PROBE_EVERY - 1]).toBe(true);
    let memory: GapMemory = { ...freshGapMemory(T0), farExponent: MAX_FAR_EXPONENT - 1 };
    for (let i = 0; i < 3; i++) memory = afterCycle(memory, { now: T0, newBuilds: 0, checked: true, farProbed: true });
    expect(memory.farExponent).toBe(MAX_FAR_EXPONENT);
  });
});
