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
  ] as const)('%j -> %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each(['', 'abc', '10 s', '10sec', '1d', '-5s', '30s1m', '1m1m', 's', '1.s', 'ms10'])(
    'rejects %j with a message saying what is accepted',
    (input) => {
      expect(() => parseDuration(input)).toThrow(/invalid duration .*500ms, 10s, 5m, 1h/);
    },
  );

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('rejects the number %d', (input) => {
    expect(() => parseDuration(input)).toThrow(RangeError);
  });

  it('rejects durations a timer cannot wait for', () => {
    expect(() => parseDuration('600h')).toThrow(/too large/);
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
  ])('%d ms -> %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });
});
