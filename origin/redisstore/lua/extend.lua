-- KEYS: reservation, holds
-- ARGV: now s, now ns, new expiry s, new expiry ns, new expiry ms, id
-- Moves a held reservation's expiry later (never earlier); stock is
-- unchanged. Returns {tag, reservation hash}: 'ok' | 'notheld' |
-- 'expired', or {'nf'}.
local r = redis.call('HMGET', KEYS[1], 'st', 'es', 'en')
if not r[1] then
  return {'nf'}
end
if r[1] ~= 'held' then
  return {'notheld', redis.call('HGETALL', KEYS[1])}
end
if due(r[2], r[3], ARGV[1], ARGV[2]) then
  return {'expired', redis.call('HGETALL', KEYS[1])}
end
if due(r[2], r[3], ARGV[3], ARGV[4]) and not (r[2] == ARGV[3] and r[3] == ARGV[4]) then
  redis.call('HSET', KEYS[1], 'es', ARGV[3], 'en', ARGV[4])
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6])
end
return {'ok', redis.call('HGETALL', KEYS[1])}
