import { hostname } from 'node:os';
import type { Config } from '../config/schema.js';
import type { CounterLayout } from '../domain/counters.js';
import { FileStore } from '../state/file-store.js';
import { RedisStore } from '../state/redis-store.js';
import type { Store, StoredJob } from '../state/store.js';
import type { Events } from '../support/events.js';
import type { ExporterEvent } from './report.js';

/** The store `state.backend` names: the state file, or Redis shared by several replicas. */
export async function openConfiguredStore(
  config: Config,
  layout: CounterLayout,
  events: Events<ExporterEvent>,
  periodSeconds: number,
): Promise<Store> {
  const { redis } = config.state;
  if (config.state.backend === 'file' || !redis) return FileStore.open(config.state.path, { layout, events });
  return RedisStore.open({
    url: redis.url,
    password: redis.password,
    keyPrefix: redis.key_prefix,
    leaseMs: redis.lease_ms,
    // Every replica ticks on the same schedule: a job polled in this period is not polled again by a later tick.
    slot: (cycleStartedAt) => Math.round(cycleStartedAt / (periodSeconds * 1000)),
    replica: `${hostname()}:${process.pid}`,
    layout,
    events,
  });
}

/** What a shared store needs from the composition root to keep every replica's `/metrics` alike. */
export interface SharedView {
  changes(): Promise<Map<string, StoredJob>>;
}

/** The store is shared by several replicas (Redis): its jobs change underneath this process. */
export function sharedView(store: Store): SharedView | undefined {
  const changes = store.changes?.bind(store);
  return changes ? { changes } : undefined;
}
