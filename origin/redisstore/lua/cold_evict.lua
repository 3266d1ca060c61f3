-- KEYS: link, the partition's eviction counter ("<part>evictions")
-- ARGV: version, activity ms, code
-- Removes a link from the hot tier (it is verified in the cold tier) only
-- if it is still live at that version with that activity: a write or a
-- click since the mover listed it keeps it hot. No change is logged: the
-- link did not change, it moved.
local h = redis.call('HMGET', KEYS[1], 'v', 'url', 'at', 'av', 'tg')
if not h[2] or h[1] ~= ARGV[1] or h[4] ~= ARGV[1] or h[3] ~= ARGV[2] then
  return 0
end
local part = string.sub(KEYS[2], 1, #KEYS[2] - 9)
set_link_index(part, ARGV[3], split_tags(h[5]), false)
redis.call('DEL', KEYS[1])
redis.call('INCR', KEYS[2])
return 1
