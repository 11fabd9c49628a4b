/**
 * The Lua scripts that make ownership and appends atomic in Redis. Redis runs a script alone and
 * does not roll one back half way, so each checks everything first and writes after. Numbers that
 * become entry IDs stay strings (Lua would print large numbers in floating point).
 */
import { LuaScript } from './lua.js';

/**
 * Takes a stream's lease if nobody holds it: a new fencing token (the counter never goes back),
 * and the lease "<token> <node>" that expires unless renewed.
 * KEYS: streams, lease, fence. ARGV: stream id, node id, lease ms. Returns the token, or nil.
 */
export const ACQUIRE = new LuaScript(
  'acquire',
  `if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return redis.error_reply('NOSTREAM ' .. ARGV[1]) end
if redis.call('EXISTS', KEYS[2]) == 1 then return false end
local token = redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[2], token .. ' ' .. ARGV[2], 'PX', ARGV[3])
return token`,
  3,
);

/**
 * Renews a lease this node still holds with this token (lease ms '0' releases it).
 * KEYS: lease. ARGV: node id, token, lease ms. Returns 1, or 0 when the lease is lost.
 */
export const RENEW = new LuaScript(
  'renew',
  `if redis.call('GET', KEYS[1]) ~= ARGV[2] .. ' ' .. ARGV[1] then return 0 end
if ARGV[3] == '0' then redis.call('DEL', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1`,
  1,
);

/**
 * Appends one event, only for the holder of the lease (fencing) and only as the next seq (a seq
 * is never reused or skipped). A status has no seq: it goes after the last one. A keyframe goes
 * into the keyframe stream under the same seq, which keeps only what the events keep.
 * KEYS: lease, seq, events, keyframes, status.
 * ARGV: node id, token, seq ('' for a status), type, ts ms, JSON, max events, JPEG ('' for none).
 * Returns the entry ID; errors FENCED (the lease is someone else's) or SEQ (not the next seq).
 */
export const APPEND = new LuaScript(
  'append',
  `local lease = redis.call('GET', KEYS[1])
if lease ~= ARGV[2] .. ' ' .. ARGV[1] then return redis.error_reply('FENCED ' .. (lease or 'no lease')) end
local last = redis.call('GET', KEYS[2]) or '0'
if ARGV[3] == '' then
  local id = redis.call('XADD', KEYS[3], last .. '-*', 't', ARGV[4], 'ts', ARGV[5], 'j', ARGV[6], 'n', ARGV[1], 'f', ARGV[2])
  redis.call('SET', KEYS[5], ARGV[6])
  return id
end
if tonumber(ARGV[3]) ~= tonumber(last) + 1 then
  return redis.error_reply('SEQ expected ' .. (tonumber(last) + 1) .. ', got ' .. ARGV[3])
end
local id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], ARGV[3] .. '-0', 't', ARGV[4], 'ts', ARGV[5], 'j', ARGV[6], 'n', ARGV[1], 'f', ARGV[2])
redis.call('SET', KEYS[2], ARGV[3])
if ARGV[8] ~= '' then redis.call('XADD', KEYS[4], ARGV[3] .. '-0', 'jpeg', ARGV[8]) end
local first = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', 1)[1]
redis.call('XTRIM', KEYS[4], 'MINID', first[1])
return id`,
  5,
);

/**
 * Removes a stream's events older than a time, in batches (call again while it returns the batch
 * size), and the keyframes that went with them.
 * KEYS: events, keyframes. ARGV: cutoff ms, batch. Returns how many events it removed.
 */
export const TRIM_OLDER = new LuaScript(
  'trim-older',
  `local cutoff, n = tonumber(ARGV[1]), 0
for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', ARGV[2])) do
  local f, ts = e[2], nil
  for i = 1, #f, 2 do if f[i] == 'ts' then ts = tonumber(f[i + 1]) break end end
  if ts == nil or ts >= cutoff then break end
  n = n + 1
end
if n == 0 then return 0 end
redis.call('XTRIM', KEYS[1], 'MAXLEN', redis.call('XLEN', KEYS[1]) - n)
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
if first then redis.call('XTRIM', KEYS[2], 'MINID', first[1]) else redis.call('XTRIM', KEYS[2], 'MAXLEN', 0) end
return n`,
  2,
);
