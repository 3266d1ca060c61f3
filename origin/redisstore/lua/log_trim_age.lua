-- log_trim_age: removes the changes of one partition's log older than
-- ARGV[1] (unix ms, the entries' time), at most ARGV[2] of them, and never
-- the newest (it names where the log stands). KEYS[1]: the log stream.
-- Entries are in seq order and their times do not go back by more than
-- the origins' clock skew, so the first young entry ends the scan.
-- Returns how many changes it removed (a run entry, see run_add, holds
-- several; ARGV[2] bounds the entries read).
local cutoff = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #top == 0 then
  return 0
end
local newest = top[1][1]
local cut = nil
local n = 0
for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', limit)) do
  if e[1] == newest then
    break
  end
  local t = change_time(e[2])
  if not t or t >= cutoff then
    break
  end
  cut = e[1]
  n = n + change_count(e)
end
if not cut then
  return 0
end
local seq = tonumber(string.match(cut, '^(%d+)-'))
redis.call('XTRIM', KEYS[1], 'MINID', str(seq + 1) .. '-0')
return n
