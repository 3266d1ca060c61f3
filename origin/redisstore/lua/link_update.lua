-- KEYS: link, seq, log
-- ARGV: change key, at ms, maxlen, set url (0/1), url, set redirect (0/1),
--       redirect, expiry mode (keep/set/clear), expires, code, set tags
--       (0/1), tags (comma-joined), clear visits (0/1), then field/value
--       pairs of extras to set ("" value: remove the field)
if redis.call('HEXISTS', KEYS[1], 'url') == 0 then
  return {'nf', tonumber(redis.call('HGET', KEYS[1], 'v')) or 0}
end
-- Check before writing anything: valid_since must stay before expires_at.
local cur = redis.call('HMGET', KEYS[1], 'exp', 'vs', 'tg')
local exp, vs = cur[1] or '', cur[2] or ''
if ARGV[8] == 'set' then exp = ARGV[9] elseif ARGV[8] == 'clear' then exp = '' end
for i = 14, #ARGV, 2 do
  if ARGV[i] == 'vs' then vs = ARGV[i + 1] end
end
if exp ~= '' and vs ~= '' and not time_before(vs, exp) then
  return {'invalid', 'valid_since must be before expires_at'}
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
if ARGV[11] == '1' then
  local part = part_of(KEYS[2])
  set_link_index(part, ARGV[10], split_tags(cur[3]), false)
  set_link_index(part, ARGV[10], split_tags(ARGV[12]), true)
  if ARGV[12] == '' then
    redis.call('HDEL', KEYS[1], 'tg')
  else
    redis.call('HSET', KEYS[1], 'tg', ARGV[12])
  end
end
for i = 14, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', KEYS[1], ARGV[i])
  else
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
if ARGV[13] == '1' then
  -- No visit limit any more: its bookkeeping (used, leases) goes too.
  local fields = redis.call('HKEYS', KEYS[1])
  for _, f in ipairs(fields) do
    if f == 'vu' or string.sub(f, 1, 2) == 'L:' then redis.call('HDEL', KEYS[1], f) end
  end
end
local v = next_field(KEYS[1], 'v')
append_change(KEYS[2], KEYS[3], ARGV[3], ARGV[1], v, ARGV[2])
return {'ok', redis.call('HGETALL', KEYS[1])}
