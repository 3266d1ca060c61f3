-- KEYS: stock, seq, log
-- ARGV: change key, at ms, maxlen, warehouse, on_hand
-- The stock hash holds "v", and per warehouse "h:<wh>" (on hand) and
-- "r:<wh>" (reserved).
local r = tonumber(redis.call('HGET', KEYS[1], 'r:' .. ARGV[4])) or 0
if tonumber(ARGV[5]) < r then
  return {'below', r}
end
redis.call('HSET', KEYS[1], 'h:' .. ARGV[4], ARGV[5], 'r:' .. ARGV[4], str(r))
local v = redis.call('HINCRBY', KEYS[1], 'v', 1)
append_change(KEYS[2], KEYS[3], ARGV[3], ARGV[1], v, ARGV[2])
return {'ok', redis.call('HGETALL', KEYS[1])}
