import { describe, expect, it } from 'vitest';
import { foldHealth, type HealthEntry } from '../../src/domain/health.js';

const build = (buildNo: number, result: HealthEntry['result'], finishedAt: number, commit?: string): HealthEntry => ({
  buildNo,
  result,
  finishedAt,
  ...(commit ? { commit } : {}),
});

describe('job health: time to restore, failing streak, flaky builds', () => {
  it('measures from the first failure of a streak to the success that ends it; aborted builds change nothing', () => {
    const fold = foldHealth(
      { failures: 0 },
      [build(1, 'success', 100), build(2, 'failure', 200), build(3, 'aborted', 250), build(4, 'timeout', 300), build(5, 'success', 1_000)],
      86_400,
    );
    expect(fold.recoveries).toEqual([800]);
    expect(fold.health).toMatchObject({ failures: 0 });
    expect(fold.health.failingSince).toBeUndefined();
  });

  it('keeps a streak open across folds (and so across commits and restarts)', () => {
    const first = foldHealth({ failures: 0 }, [build(1, 'failure', 100), build(2, 'failure', 160)], 86_400);
    expect(first.health).toMatchObject({ failingSince: 100, failures: 2 });
    expect(first.recoveries).toEqual([]);
    const second = foldHealth(first.health, [build(3, 'success', 400)], 86_400);
    expect(second.recoveries).toEqual([300]);
  });

  it('a success that finished before the streak began (a lower number finishing first) ends it without an observation', () => {
    const fold = foldHealth({ failures: 0 }, [build(7, 'failure', 500), build(8, 'success', 450)], 86_400);
    expect(fold.recoveries).toEqual([]);
    expect(fold.health.failures).toBe(0);
  });

  it('counts a success of the commit that just failed as flaky, within the window only, once', () => {
    const flaky = foldHealth({ failures: 0 }, [build(1, 'failure', 100, 'abc'), build(2, 'success', 200, 'abc')], 86_400);
    expect(flaky.flaky).toBe(1);
    const other = foldHealth({ failures: 0 }, [build(1, 'failure', 100, 'abc'), build(2, 'success', 200, 'def')], 86_400);
    expect(other.flaky).toBe(0);
    const late = foldHealth({ failures: 0 }, [build(1, 'failure', 100, 'abc'), build(2, 'success', 100 + 86_401, 'abc')], 86_400);
    expect(late.flaky).toBe(0);
    const twice = foldHealth(
      { failures: 0 },
      [build(1, 'failure', 100, 'abc'), build(2, 'success', 200, 'abc'), build(3, 'success', 300, 'abc')],
      86_400,
    );
    expect(twice.flaky).toBe(1);
    const noCommit = foldHealth({ failures: 0 }, [build(1, 'failure', 100), build(2, 'success', 200)], 86_400);
    expect(noCommit.flaky).toBe(0);
  });
});
