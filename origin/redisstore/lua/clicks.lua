-- KEYS: links of one partition; ARGV: their click counts, in order.
-- Clicks neither bump the version nor append a change: redirects do not
-- depend on them. Unknown and deleted codes are skipped.
local n = 0
for i, k in ipairs(KEYS) do
  if redis.call('HEXISTS', k, 'url') == 1 then
    redis.call('HINCRBY', k, 'clk', ARGV[i])
    n = n + 1
  end
end
return n
