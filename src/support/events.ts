/**
 * How every part reports what happened (a request, a retry, an invalid record, a failed save): as
 * typed events, one union per part. Only the composition root knows what an event becomes, a
 * self-metric, a log line or both (src/wiring/report.ts), so no part calls metrics or logs for it.
 */
export interface Events<E extends { type: string }> {
  /** A property, not a method: a sink of fewer event types must not pass for a sink of more. */
  emit: (event: E) => void;
}

/** Drops every event (tools and tests that do not look); serves as a sink for any union. */
export const NO_EVENTS: Events<{ type: string }> = { emit: () => undefined };
