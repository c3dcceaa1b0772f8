/**
 * The Lua scripts of the Redis store (docs/high-availability.md). Each runs atomically on the Redis
 * primary and takes its clock from Redis `TIME`, so the replicas' clocks never matter. Keys per job:
 * `lease` (a string holding the token of the replica polling the job, with a TTL) and `job` (a hash:
 * `ver`, `rec` the whole record, `polled_ms` when a replica last finished a poll of it).
 */

const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS lease, job; ARGV token, lease ms, min interval ms. 'busy': another replica polls it; 'done': polled less than the interval ago. */
export const ACQUIRE = `${NOW_MS}
if redis.call('EXISTS', KEYS[1]) == 1 then return 'busy' end
local polled = tonumber(redis.call('HGET', KEYS[2], 'polled_ms') or '0')
if now - polled < tonumber(ARGV[3]) then return 'done' end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 'ok'`;

/** KEYS lease; ARGV token, lease ms. 1 while the token still holds the lease (its TTL restarts), 0 once it was lost. */
export const RENEW = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/** KEYS lease, job; ARGV token, '1' when the poll finished (the job is then not due for the min interval). */
export const RELEASE = `${NOW_MS}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if ARGV[2] == '1' then redis.call('HSET', KEYS[2], 'polled_ms', now) end
return 1`;

/**
 * KEYS lease, job, versions; ARGV token, expected version, next version, record, job id.
 * The fenced compare-and-set of a job's whole record: 'fenced' when the token no longer holds the
 * lease (it expired during a pause, another replica took the job), 'stale' when the record is not
 * at the version the commit was computed from (another commit came first). Either way nothing changes.
 */
export const COMMIT = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'fenced' end
local ver = tonumber(redis.call('HGET', KEYS[2], 'ver') or '0')
if ver ~= tonumber(ARGV[2]) then return 'stale' end
redis.call('HSET', KEYS[2], 'ver', ARGV[3], 'rec', ARGV[4])
redis.call('HSET', KEYS[3], ARGV[5], ARGV[3])
return 'ok'`;

/** KEYS job, versions; ARGV version, record, job id. `state import`: writes a job only where Redis has none ('exists' otherwise). */
export const IMPORT = `if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
redis.call('HSET', KEYS[1], 'ver', ARGV[1], 'rec', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
return 'ok'`;
