-- KEYS: link, seq, log
-- ARGV: change key, at ms, maxlen
-- Deleting leaves a tombstone holding only the version, so a later create
-- continues from it and versions of the key only grow.
local cur = redis.call('HMGET', KEYS[1], 'v', 'url')
local v = tonumber(cur[1]) or 0
if not cur[2] then
  return {'nf', v}
end
v = above(v)
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', str(v))
append_change(KEYS[2], KEYS[3], ARGV[3], ARGV[1], v, ARGV[2])
return {'ok', v}
