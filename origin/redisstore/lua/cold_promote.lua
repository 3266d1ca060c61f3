-- KEYS: link, the partition's codes index
-- ARGV: code, version, url, redirect, expires ("" = none), created, clicks,
--       tags (comma-joined), activity ms, then field/value pairs of extras
-- Puts a cold link back at its own version, only if the hot tier has no
-- record of the code (live or tombstone). No change is logged.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'url', ARGV[3], 'rd', ARGV[4],
  'exp', ARGV[5], 'ct', ARGV[6], 'clk', ARGV[7], 'at', ARGV[9], 'av', ARGV[2])
if ARGV[8] ~= '' then
  redis.call('HSET', KEYS[1], 'tg', ARGV[8])
end
for i = 10, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
set_link_index(string.sub(KEYS[2], 1, #KEYS[2] - 5), ARGV[1], split_tags(ARGV[8]), true)
return 1
