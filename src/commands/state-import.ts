import { ConfigError, loadConfig, resolveConfigPath } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { counterLayout } from '../exporter.js';
import { FileStore } from '../state/file-store.js';
import { redacted } from '../state/redis-connection.js';
import { RedisStore } from '../state/redis-store.js';
import type { StoredJob } from '../state/store.js';
import type { CommandIo } from './io.js';
import { EXIT_INVALID_CONFIG } from './io.js';

export interface StateImportArgs {
  config?: string;
  /** The state file to import; state.path by default. */
  from?: string;
}

/**
 * `state import`: copies every job of a state file (cursor, pending builds, gaps, last build and
 * the counters) into the Redis that `state.redis` names, so a switch to `backend: redis` goes on
 * from where the file left off and counts no build again. The file is read under its lock (no
 * exporter may be running on it) and never changed; a job Redis already holds is left as it is.
 */
export async function stateImport(options: StateImportArgs, io: CommandIo): Promise<number> {
  const path = resolveConfigPath(options.config, io.env);
  let config: Config;
  try {
    config = await loadConfig({ file: path, env: io.env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr(`config invalid: ${path}`);
    for (const problem of error.problems) io.stderr(problem);
    return EXIT_INVALID_CONFIG;
  }
  const redis = config.state.redis;
  if (config.state.backend !== 'redis' || !redis) {
    io.stderr(`state import: ${path} must set state.backend: redis and state.redis.url (the Redis to import into)`);
    return EXIT_INVALID_CONFIG;
  }
  const from = options.from ?? config.state.path;
  const layout = counterLayout(config);
  try {
    const jobs = await readLocked(from, layout);
    const store = await RedisStore.open({
      ...redis,
      keyPrefix: redis.key_prefix,
      leaseMs: redis.lease_ms,
      slot: () => 0,
      replica: 'import',
      layout,
    });
    let imported = 0;
    try {
      for (const [jobId, stored] of jobs) if (await store.importJob(jobId, stored)) imported += 1;
    } finally {
      await store.close();
    }
    const kept = jobs.size - imported;
    io.stdout(
      `state import: ${imported} of ${jobs.size} jobs imported from ${from} into ${redacted(redis.url)} (prefix ${redis.key_prefix})` +
        (kept > 0 ? `; ${kept} already in Redis were left as they are` : ''),
    );
    return 0;
  } catch (error) {
    io.stderr(`state import: ${(error as Error).message}`);
    return 1;
  }
}

/** The file's jobs, read under its lock so that no exporter writes it meanwhile. */
async function readLocked(path: string, layout: ReturnType<typeof counterLayout>): Promise<Map<string, StoredJob>> {
  const file = await FileStore.open(path, { layout });
  try {
    const jobs = await file.load();
    if (jobs.size === 0) throw new Error(`${path} holds no job (missing or empty): nothing to import`);
    return jobs;
  } finally {
    await file.close();
  }
}
