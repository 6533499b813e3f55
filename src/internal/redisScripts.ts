/**
 * The Lua scripts of the Redis store. A script runs atomically, but a command that fails in
 * the middle of one does not undo the commands before it (https://redis.io/docs/latest/develop/interact/programmability/eval-intro/
 * "Script cache semantics" / "Error handling"): every script that writes checks all its input
 * first and only then writes.
 *
 * Single Redis layout under the prefix P:
 *   P e:<section>:<key>        hash {d: the entry (MSAL JSON, maybe encrypted), v: version}, TTL from expiry
 *   P p:<section>:<partition>  set of the keys of one partition (stale members dropped when met)
 *   P s:<section>              set of the partitions of a section (for whole-section listings)
 *   P l:<key>                  a cross-instance lock (random token, PX)
 *   P unknown                  what a deserialised cache held that we do not model
 *
 * Redis Cluster layout (see redisCluster.ts): the same names with the entry key or the
 * partition in a hash tag, and only single-key scripts.
 */

/** Members of one partition as key, value, key, value…, stale ones dropped: one round trip. */
export const LIST_PARTITION = `
local out = {}
for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local v = redis.call('HGET', ARGV[1] .. k, 'd')
  if v then out[#out + 1] = k; out[#out + 1] = v else redis.call('SREM', KEYS[1], k) end
end
return out`

/** Every entry of a section. */
export const LIST_SECTION = `
local out = {}
for _, p in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local pk = ARGV[2] .. p
  local n = 0
  for _, k in ipairs(redis.call('SMEMBERS', pk)) do
    local v = redis.call('HGET', ARGV[1] .. k, 'd')
    if v then out[#out + 1] = k; out[#out + 1] = v; n = n + 1 else redis.call('SREM', pk, k) end
  end
  if n == 0 then redis.call('SREM', KEYS[1], p) end
end
return out`

/**
 * Applies changes atomically. ARGV: prefix, then 8 values per change: op (P|R), section, key,
 * partition, payload, version, ttl (ms), cas (1: keep a stored entry with a higher version).
 * Every change is checked before anything is written. Returns how many puts lost their
 * compare-and-set.
 */
export const MODIFY = `
local P = ARGV[1]
for i = 2, #ARGV, 8 do
  if ARGV[i] == 'P' then
    local ttl, version = tonumber(ARGV[i + 6]), tonumber(ARGV[i + 5])
    if not ttl or ttl < 1 or ttl ~= math.floor(ttl) or not version then
      return redis.error_reply('ERR effect-msal: invalid ttl or version')
    end
    local s = ARGV[i + 1]
    for _, kt in ipairs({{P .. 'e:' .. s .. ':' .. ARGV[i + 2], 'hash'}, {P .. 'p:' .. s .. ':' .. ARGV[i + 3], 'set'}, {P .. 's:' .. s, 'set'}}) do
      local t = redis.call('TYPE', kt[1]).ok
      if t ~= 'none' and t ~= kt[2] then return redis.error_reply('ERR effect-msal: a cache key holds a ' .. t) end
    end
  end
end
local lost = 0
for i = 2, #ARGV, 8 do
  local op, section, key = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local ek = P .. 'e:' .. section .. ':' .. key
  if op == 'R' then
    redis.call('DEL', ek)
  else
    local partition, payload, version, ttl = ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], tonumber(ARGV[i + 6])
    local current = ARGV[i + 7] == '1' and redis.call('HGET', ek, 'v')
    if current and tonumber(current) > tonumber(version) then
      lost = lost + 1
    else
      redis.call('HSET', ek, 'd', payload, 'v', version)
      redis.call('PEXPIRE', ek, ttl)
      for _, pair in ipairs({{P .. 'p:' .. section .. ':' .. partition, key}, {P .. 's:' .. section, partition}}) do
        redis.call('SADD', pair[1], pair[2])
        if redis.call('PTTL', pair[1]) < ttl then redis.call('PEXPIRE', pair[1], ttl) end
      end
    end
  end
end
return lost`

/** Removes every entry and index of the sections named in ARGV[2..]. */
export const CLEAR = `
local P = ARGV[1]
for i = 2, #ARGV do
  local s = ARGV[i]
  for _, p in ipairs(redis.call('SMEMBERS', P .. 's:' .. s)) do
    local pk = P .. 'p:' .. s .. ':' .. p
    for _, k in ipairs(redis.call('SMEMBERS', pk)) do redis.call('DEL', P .. 'e:' .. s .. ':' .. k) end
    redis.call('DEL', pk)
  end
  redis.call('DEL', P .. 's:' .. s)
end
return 1`

export const ACQUIRE = `return redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') and 1 or 0`
export const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`
export const SET_UNKNOWN =
  `if ARGV[1] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[1]) end return 1`
export const GET_UNKNOWN = `return redis.call('GET', KEYS[1])`

/**
 * Cluster: one entry, compare-and-set on its version. KEYS[1]: the entry; ARGV: payload,
 * version, ttl (ms), cas. Returns 1 when written, 0 when a newer entry was kept.
 */
export const PUT_ENTRY = `
local ttl, version = tonumber(ARGV[3]), tonumber(ARGV[2])
if not ttl or ttl < 1 or ttl ~= math.floor(ttl) or not version then
  return redis.error_reply('ERR effect-msal: invalid ttl or version')
end
local t = redis.call('TYPE', KEYS[1]).ok
if t ~= 'none' and t ~= 'hash' then return redis.error_reply('ERR effect-msal: a cache key holds a ' .. t) end
local current = ARGV[4] == '1' and redis.call('HGET', KEYS[1], 'v')
if current and tonumber(current) > version then return 0 end
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'v', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1`

/**
 * Cluster: adds a member to an index set and keeps the set at least as long as the member.
 * KEYS[1]: the set; ARGV: member, ttl (ms). Returns 1 when the set was empty before.
 */
export const INDEX = `
local ttl = tonumber(ARGV[2])
if not ttl or ttl < 1 then return redis.error_reply('ERR effect-msal: invalid ttl') end
local created = redis.call('SADD', KEYS[1], ARGV[1]) == 1 and redis.call('SCARD', KEYS[1]) == 1
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return created and 1 or 0`

/** Cluster: one command on one key (SMEMBERS, SREM, DEL, EXISTS). KEYS[1]; ARGV: command, args. */
export const ONE = `return redis.call(ARGV[1], KEYS[1], unpack(ARGV, 2))`
