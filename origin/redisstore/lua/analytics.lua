-- One partition's share (one chunk) of an edge's click batch, applied once.
-- KEYS[1]: the chunk's batch marker; ARGV[1]: its TTL in seconds.
-- ARGV[2]: L, the number of links whose click counters grow.
-- KEYS[2..L+1]: those link hashes; ARGV[3..L+2]: their clicks. Unknown and
-- deleted codes are skipped (as clicks.lua).
-- Then, per series entry, three keys: the code's hour hash, the hour's top
-- zset, the day's top zset; and ARGV: code, hour expiry, day expiry (unix
-- seconds), human clicks, the number of fields, then field/count pairs.
-- Returns 1 when applied, 0 when the marker was there (a replay).
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return 0
end
local L = tonumber(ARGV[2])
for i = 1, L do
  local k = KEYS[1 + i]
  if redis.call('HEXISTS', k, 'url') == 1 then
    redis.call('HINCRBY', k, 'clk', ARGV[2 + i])
  end
end
local ki, ai = L + 2, L + 3
while ki <= #KEYS do
  local h, hz, dz = KEYS[ki], KEYS[ki + 1], KEYS[ki + 2]
  local code, hexp, dexp = ARGV[ai], ARGV[ai + 1], ARGV[ai + 2]
  local humans, nf = tonumber(ARGV[ai + 3]), tonumber(ARGV[ai + 4])
  ai = ai + 5
  for _ = 1, nf do
    redis.call('HINCRBY', h, ARGV[ai], ARGV[ai + 1])
    ai = ai + 2
  end
  redis.call('EXPIREAT', h, hexp)
  if humans > 0 then
    redis.call('ZINCRBY', hz, humans, code)
    redis.call('EXPIREAT', hz, hexp)
    redis.call('ZINCRBY', dz, humans, code)
    redis.call('EXPIREAT', dz, dexp)
  end
  ki = ki + 3
end
return 1
