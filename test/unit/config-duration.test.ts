import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/config/duration.js';

describe('parseDuration', () => {
  it.each([
    [10, 10_000],
    [0.5, 500],
    [0, 0],
    ['500ms', 500],
    ['10s', 10_000],
    ['1.5s', 1_500],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1h2m3s4ms', 3_723_004],
    ['30', 30_000],
    [' 10s ', 10_000],
    ['7d', 604_800_000],
    ['1w', 604_800_000],
    ['1w2d', 777_600_000],
    ['1d12h', 129_600_000],
    ['2w', 1_209_600_000],
  ] as const)('%j -> %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each(['', 'abc', '10 s', '10sec', '1y', '-5s', '30s1m', '1m1m', '1h1d', 's', '1.s', 'ms10', '1D'])(
    'rejects %j with a message saying what is accepted',
    (input) => {
      expect(() => parseDuration(input)).toThrow(/invalid duration .*500ms, 10s, 5m, 1h, 7d, 2w/);
    },
  );

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('rejects the number %d', (input) => {
    expect(() => parseDuration(input)).toThrow(RangeError);
  });

  it('rejects durations a timer cannot wait for, naming the limit', () => {
    expect(() => parseDuration('600h')).toThrow(/too large \(at most 24d20h31m23.647s\)/);
    expect(() => parseDuration('4w')).toThrow(/too large/);
  });

  it('accepts a larger limit when the caller allows one', () => {
    expect(parseDuration('30d', 366 * 86_400_000)).toBe(30 * 86_400_000);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [500, '500ms'],
    [1_000, '1s'],
    [1_500, '1.5s'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [604_800_000, '7d'],
    [129_600_000, '1d12h'],
  ])('%d ms -> %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });
});
