/** Timers cannot wait longer than this (setTimeout's 32-bit limit, about 24.8 days). */
export const MAX_DURATION_MS = 2 ** 31 - 1;

const UNIT_MS = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;
const UNIT_ORDER: readonly Unit[] = ['w', 'd', 'h', 'm', 's', 'ms'];
const PART = /(\d+(?:\.\d+)?)(ms|w|d|h|m|s)/y;
const PLAIN_SECONDS = /^\d+(?:\.\d+)?$/;
const HINT = 'use a number of seconds or a string like 500ms, 10s, 5m, 1h, 7d, 2w, 1m30s';

/**
 * Milliseconds from a number of seconds or a string such as `500ms`, `10s`, `5m`, `1h`, `7d`,
 * `2w`, `1m30s`. A string of digits counts as seconds, because `${VAR}` interpolation always yields
 * strings. Throws a RangeError whose message says what is accepted. `maxMs` defaults to what a
 * timer can wait for; durations only ever compared with the clock may allow more.
 */
export function parseDuration(value: number | string, maxMs = MAX_DURATION_MS): number {
  const ms = typeof value === 'number' ? secondsToMs(value) : parseDurationString(value);
  if (ms > maxMs) throw new RangeError(`duration too large (at most ${formatDuration(maxMs)})`);
  return ms;
}

function secondsToMs(seconds: number): number {
  if (!Number.isFinite(seconds)) throw new RangeError(`invalid duration: ${HINT}`);
  if (seconds < 0) throw new RangeError('duration must not be negative');
  return Math.round(seconds * 1000);
}

function parseDurationString(text: string): number {
  const trimmed = text.trim();
  if (PLAIN_SECONDS.test(trimmed)) return secondsToMs(Number(trimmed));
  const invalid = new RangeError(`invalid duration ${JSON.stringify(text)}: ${HINT}`);
  if (trimmed === '') throw invalid;
  let total = 0;
  let lastUnit = -1;
  PART.lastIndex = 0;
  while (PART.lastIndex < trimmed.length) {
    const match = PART.exec(trimmed);
    if (!match) throw invalid;
    const unit = match[2] as Unit;
    const rank = UNIT_ORDER.indexOf(unit);
    // Units must go from large to small, each at most once: "1m30s", not "30s1m" or "1m1m".
    if (rank <= lastUnit) throw invalid;
    lastUnit = rank;
    total += Number(match[1]) * UNIT_MS[unit];
  }
  return Math.round(total);
}

/** The shortest readable form of a duration in milliseconds: 500ms, 1s, 1.5s, 1m30s, 2h, 7d. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  let rest = ms;
  let out = '';
  for (const unit of ['d', 'h', 'm'] as const) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * UNIT_MS[unit];
  }
  if (rest > 0) out += `${Number((rest / 1000).toFixed(3))}s`;
  return out;
}
