-- KEYS: reservation, holds, seq, log
-- ARGV: at ms, maxlen, now s, now ns, id, stock key prefix, retention ms
-- Returns {tag, reservation hash}: 'ok' | 'notheld' | 'expired', or {'nf'}.
local r = redis.call('HMGET', KEYS[1], 'st', 'sku', 'wh', 'q', 'es', 'en')
if not r[1] then
  return {'nf'}
end
if r[1] == 'committed' then
  return {'ok', redis.call('HGETALL', KEYS[1])}
end
if r[1] ~= 'held' then
  return {'notheld', redis.call('HGETALL', KEYS[1])}
end
if due(r[5], r[6], ARGV[3], ARGV[4]) then
  -- Too late to sell: the hold ends as expired, as ExpireHolds would have.
  finish_hold(KEYS[1], KEYS[2], ARGV[5], ARGV[6], r, 'expired', false,
    KEYS[3], KEYS[4], ARGV[2], ARGV[1], ARGV[7])
  return {'expired', redis.call('HGETALL', KEYS[1])}
end
finish_hold(KEYS[1], KEYS[2], ARGV[5], ARGV[6], r, 'committed', true,
  KEYS[3], KEYS[4], ARGV[2], ARGV[1], ARGV[7])
return {'ok', redis.call('HGETALL', KEYS[1])}
