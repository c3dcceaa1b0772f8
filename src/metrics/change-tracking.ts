/** The mutating methods of prom-client's Counter, Gauge and Histogram. */
const MUTATORS = ['inc', 'dec', 'set', 'setToCurrentTime', 'observe', 'reset', 'remove', 'zero'] as const;

/**
 * Calls `onChange` after every call of one of the metric's mutating methods, so a cached `/metrics`
 * body knows the metric changed. Covers calls on the metric itself (all this exporter makes); the
 * children of `metric.labels(...)` bypass it.
 */
export function trackChanges<M extends object>(metric: M, onChange: () => void): M {
  const methods = metric as unknown as Record<string, unknown>;
  for (const name of MUTATORS) {
    const original = methods[name];
    if (typeof original !== 'function') continue;
    methods[name] = (...args: unknown[]): unknown => {
      const result: unknown = original.apply(metric, args);
      onChange();
      return result;
    };
  }
  return metric;
}
