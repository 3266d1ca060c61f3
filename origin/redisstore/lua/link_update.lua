-- KEYS: link, seq, log
-- ARGV: change key, at ms, maxlen, set url (0/1), url, set redirect (0/1),
--       redirect, expiry mode (keep/set/clear), expires
if redis.call('HEXISTS', KEYS[1], 'url') == 0 then
  return {'nf', tonumber(redis.call('HGET', KEYS[1], 'v')) or 0}
end
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], 'url', ARGV[5])
end
if ARGV[6] == '1' then
  redis.call('HSET', KEYS[1], 'rd', ARGV[7])
end
if ARGV[8] == 'set' then
  redis.call('HSET', KEYS[1], 'exp', ARGV[9])
elseif ARGV[8] == 'clear' then
  redis.call('HSET', KEYS[1], 'exp', '')
end
local v = next_field(KEYS[1], 'v')
append_change(KEYS[2], KEYS[3], ARGV[3], ARGV[1], v, ARGV[2])
return {'ok', redis.call('HGETALL', KEYS[1])}
