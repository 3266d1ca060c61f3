-- KEYS: link, seq, log
-- ARGV: change key, at ms, maxlen, code
-- Deleting leaves a tombstone holding only the version, so a later create
-- continues from it and versions of the key only grow. The link leaves the
-- listing indexes.
local cur = redis.call('HMGET', KEYS[1], 'v', 'url', 'tg')
local v = tonumber(cur[1]) or 0
if not cur[2] then
  return {'nf', v}
end
v = above(v)
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', str(v))
set_link_index(part_of(KEYS[2]), ARGV[4], split_tags(cur[3]), false)
append_change(KEYS[2], KEYS[3], ARGV[3], ARGV[1], v, ARGV[2])
return {'ok', v}
