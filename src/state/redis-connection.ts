import { Redis, type RedisOptions } from 'ioredis';

/** How to reach Redis (config `state.redis`). */
export interface RedisConnectionSettings {
  /** redis://host:port/db, rediss:// (TLS), or redis+sentinel://host:port,host:port/master_name. */
  url: string;
  password?: string | undefined;
}

/** A URL that names no Redis the exporter can use; names the config key. */
export class RedisUrlError extends Error {
  override readonly name = 'RedisUrlError';
}

const RECONNECT_MAX_MS = 2000;

/**
 * The client options: no offline queue and one attempt per command, so a poll or scrape while Redis
 * is down fails at once (polling pauses, /readyz says 503) instead of piling commands up; the
 * client reconnects on its own every ≤ 2 s and everything resumes from what Redis holds.
 */
export function redisOptions(settings: RedisConnectionSettings): RedisOptions {
  const common: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    protocol: 2,
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(times * 200, RECONNECT_MAX_MS),
    ...(settings.password !== undefined ? { password: settings.password } : {}),
  };
  const url = settings.url;
  if (/^rediss?:\/\//i.test(url)) return common;
  const sentinel = /^redis\+sentinel:\/\/(?:([^@/]*)@)?([^/]+)\/([^/?#]+)/i.exec(url);
  if (!sentinel) throw new RedisUrlError(`state.redis.url: ${redacted(url)} is not a redis://, rediss:// or redis+sentinel:// URL`);
  const [, , hosts = '', name = ''] = sentinel;
  const sentinels = hosts.split(',').map((hostPort) => {
    const [host = '', port = '26379'] = hostPort.split(':');
    return { host, port: Number(port) };
  });
  if (sentinels.some((s) => s.host === '' || !Number.isInteger(s.port)))
    throw new RedisUrlError(`state.redis.url: ${redacted(url)} names a sentinel without host or with a bad port`);
  return { ...common, sentinels, name: decodeURIComponent(name) };
}

/** The URL without its user info, for messages. */
export function redacted(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

export function createRedisClient(settings: RedisConnectionSettings): Redis {
  const options = redisOptions(settings);
  return /^rediss?:\/\//i.test(settings.url) ? new Redis(settings.url, options) : new Redis(options);
}
