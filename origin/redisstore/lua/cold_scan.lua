-- KEYS: the partition's codes index ("<part>codes")
-- ARGV: after ("" = from the start), limit, before ms, now ms, max codes scanned
-- Lists live links with no activity since before (cold tier candidates):
-- "at" is the link's activity (unix ms), "av" the version it was recorded
-- for. A link whose current version has no activity yet is stamped now
-- (a write counts as activity from the first scan after it). Links with a
-- visit limit stay hot. Answers {next cursor ("" = partition done), {code,
-- hash, ...}}.
local part = string.sub(KEYS[1], 1, #KEYS[1] - 5)
local min = '-'
if ARGV[1] ~= '' then min = '(' .. ARGV[1] end
local max = tonumber(ARGV[5])
local codes = redis.call('ZRANGEBYLEX', KEYS[1], min, '+', 'LIMIT', 0, max)
local out = {}
local n, limit, last = 0, tonumber(ARGV[2]), ''
for _, code in ipairs(codes) do
  last = code
  local k = part .. 'l:' .. code
  local h = redis.call('HMGET', k, 'v', 'url', 'at', 'av', 'mv')
  if h[2] and not h[5] then
    if not h[3] or h[4] ~= h[1] then
      redis.call('HSET', k, 'at', ARGV[4], 'av', h[1])
    elseif tonumber(h[3]) < tonumber(ARGV[3]) then
      out[#out + 1] = code
      out[#out + 1] = redis.call('HGETALL', k)
      n = n + 1
      if n >= limit then break end
    end
  end
end
if n < limit and #codes < max then last = '' end
return {last, out}
