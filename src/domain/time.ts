/** ISO-8601 date-time; a zone (Z or +hh:mm) is optional. */
const ISO_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Unix seconds of an ISO-8601 time. A time without a UTC offset is read as UTC, whatever the host's
 * time zone (`Date.parse` would read it as local time).
 */
export function parseRecordTime(value: string): number | undefined {
  const match = ISO_TIME.exec(value.trim());
  if (!match) return undefined;
  const [, date, time, zone] = match;
  const ms = Date.parse(`${date}T${time}${zone ? zone.toUpperCase() : 'Z'}`);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}
