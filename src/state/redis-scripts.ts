/**
 * The Lua scripts of the Redis store (docs/high-availability.md). Each runs atomically on the Redis
 * primary; lease expiry is Redis' own clock (PX). Keys per job: `lease` (a string holding the token
 * of the replica polling the job, with a TTL) and `job` (a hash: `ver`, `rec` the whole record,
 * `polled_slot` the schedule slot in which a replica last polled it to the end).
 */

/**
 * KEYS lease, job; ARGV token, lease ms, cycle slot. 'busy': another replica polls the job now;
 * 'done': a replica already polled it in this slot (the replicas' ticks share one schedule).
 */
export const ACQUIRE = `if redis.call('EXISTS', KEYS[1]) == 1 then return 'busy' end
if tonumber(redis.call('HGET', KEYS[2], 'polled_slot') or '-1') >= tonumber(ARGV[3]) then return 'done' end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 'ok'`;

/** KEYS lease; ARGV token, lease ms. 1 while the token still holds the lease (its TTL restarts), 0 once it was lost. */
export const RENEW = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/** KEYS lease, job; ARGV token, the slot polled ('' when the poll did not run to its end: the job stays due). */
export const RELEASE = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[2], 'polled_slot', ARGV[2]) end
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
