-- KEYS: reservation, holds, seq, log
-- ARGV: at ms, maxlen, id, stock key prefix, retention ms
-- Returns {tag, reservation hash}: 'ok' | 'notheld', or {'nf'}.
local r = redis.call('HMGET', KEYS[1], 'st', 'sku', 'wh', 'q')
if not r[1] then
  return {'nf'}
end
if r[1] == 'released' or r[1] == 'expired' then
  return {'ok', redis.call('HGETALL', KEYS[1])}
end
if r[1] ~= 'held' then
  return {'notheld', redis.call('HGETALL', KEYS[1])}
end
finish_hold(KEYS[1], KEYS[2], ARGV[3], ARGV[4], r, 'released', false,
  KEYS[3], KEYS[4], ARGV[2], ARGV[1], ARGV[5])
return {'ok', redis.call('HGETALL', KEYS[1])}
