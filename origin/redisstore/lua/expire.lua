-- KEYS: holds, seq, log
-- ARGV: at ms, maxlen, now s, now ns, now ms, limit, reservation key
--       prefix, stock key prefix, retention ms
-- Expires up to limit due holds of one partition. Popping from the holds
-- index and releasing happen in one script, so origins running this at the
-- same time never expire a hold twice.
-- Returns {expired, examined}.
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[5], 'LIMIT', 0, ARGV[6])
local n = 0
for _, id in ipairs(ids) do
  local reskey = ARGV[7] .. id
  local r = redis.call('HMGET', reskey, 'st', 'sku', 'wh', 'q', 'es', 'en')
  if r[1] ~= 'held' then
    -- Settled (or gone) but still indexed: only tidy the index.
    redis.call('ZREM', KEYS[1], id)
  elseif due(r[5], r[6], ARGV[3], ARGV[4]) then
    finish_hold(reskey, KEYS[1], id, ARGV[8], r, 'expired', false,
      KEYS[2], KEYS[3], ARGV[2], ARGV[1], ARGV[9])
    n = n + 1
  end
end
return {n, #ids}
