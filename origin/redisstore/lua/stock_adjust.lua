-- KEYS: stock, seq, log
-- ARGV: change key, at ms, maxlen, warehouse, delta
local f = redis.call('HMGET', KEYS[1], 'h:' .. ARGV[4], 'r:' .. ARGV[4])
local delta = tonumber(ARGV[5])
local oh, r = tonumber(f[1]), tonumber(f[2]) or 0
if not oh then
  if delta < 0 then
    return {'nf'}
  end
  oh = 0
end
local n = oh + delta
if n < 0 or n < r then
  return {'insufficient'}
end
redis.call('HSET', KEYS[1], 'h:' .. ARGV[4], str(n), 'r:' .. ARGV[4], str(r))
local v = redis.call('HINCRBY', KEYS[1], 'v', 1)
append_change(KEYS[2], KEYS[3], ARGV[3], ARGV[1], v, ARGV[2])
return {'ok', redis.call('HGETALL', KEYS[1])}
