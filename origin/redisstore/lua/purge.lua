-- KEYS: seq, log
-- ARGV: change key, at ms, maxlen, purge
-- A purge is a change record with version 0 and a 'p' field (see
-- change.Change.Purge): it changes no data, and travels like a write's.
-- Same seq logic as append_change, with the extra field.
local seq = next_counter(KEYS[1])
local c = change_field(ARGV[1], 0, ARGV[2])
local res = redis.pcall('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], str(seq) .. '-0', 'c', c, 'p', ARGV[4])
if type(res) == 'table' and res.err then
  local top = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
  local last = top[1] and tonumber(string.match(top[1][1], '^(%d+)-'))
  if last and last >= seq then
    seq = last + 1
    redis.call('SET', KEYS[1], str(seq))
  end
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], str(seq) .. '-0', 'c', c, 'p', ARGV[4])
end
notify_tail(KEYS[2])
return {'ok', seq}
