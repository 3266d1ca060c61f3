-- link_create.lua guarded by the partition's eviction counter.
-- KEYS: link, seq, log, evictions
-- ARGV: change key, at ms, maxlen, url, redirect, expires ("" = none), created,
--       code, tags, expected evictions, then field/value pairs of extras
if (tonumber(redis.call('GET', KEYS[4])) or 0) ~= tonumber(ARGV[10]) then
  return {'moved', 0}
end
local cur = redis.call('HMGET', KEYS[1], 'v', 'url')
local v = tonumber(cur[1]) or 0
if cur[2] then
  return {'taken', v}
end
v = above(v)
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', str(v), 'url', ARGV[4], 'rd', ARGV[5],
  'exp', ARGV[6], 'ct', ARGV[7], 'clk', '0')
if ARGV[9] ~= '' then
  redis.call('HSET', KEYS[1], 'tg', ARGV[9])
end
for i = 11, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
set_link_index(part_of(KEYS[2]), ARGV[8], split_tags(ARGV[9]), true)
append_change(KEYS[2], KEYS[3], ARGV[3], ARGV[1], v, ARGV[2])
return {'ok', v}
