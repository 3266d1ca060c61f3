-- KEYS: links of one partition; ARGV: their click counts, in order, then
-- (optional) the time in unix ms, recorded as each link's activity ("at",
-- with "av" the version it is for: see cold_scan.lua).
-- Clicks neither bump the version nor append a change: redirects do not
-- depend on them. Unknown and deleted codes are skipped.
local n = 0
local now = ARGV[#KEYS + 1]
for i, k in ipairs(KEYS) do
  if redis.call('HEXISTS', k, 'url') == 1 then
    redis.call('HINCRBY', k, 'clk', ARGV[i])
    if now then
      redis.call('HSET', k, 'at', now, 'av', redis.call('HGET', k, 'v'))
    end
    n = n + 1
  end
end
return n
