-- KEYS: stock, seq, log, the SKU's ledger stream, the SKU's openings
-- ARGV: change key, at ms, maxlen, last ledger seq, version, then per
--       warehouse: name, on_hand, reserved
-- Replaces the stock hash with a view replayed from the ledger, only if
-- the ledger still ends at the seq the replay read up to, and never to an
-- older version. Returns {'ok'} | {'moved'} | {'newer'}.
local top = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)
local last = 0
if top[1] then
  last = tonumber(string.match(top[1][1], '^(%d+)-'))
elseif KEYS[5] then
  -- Ledger retention trimmed every movement: the ledger ends at the
  -- newest opening (ledger_trim.lua).
  for _, o in ipairs(redis.call('HVALS', KEYS[5])) do
    last = math.max(last, tonumber(string.match(o, '^(%d+):')))
  end
end
if last ~= tonumber(ARGV[4]) then
  return {'moved'}
end
local cur = tonumber(redis.call('HGET', KEYS[1], 'v')) or 0
if cur > tonumber(ARGV[5]) then
  return {'newer'}
end
redis.call('DEL', KEYS[1])
local f = {'HSET', KEYS[1], 'v', ARGV[5]}
for i = 6, #ARGV, 3 do
  f[#f + 1] = 'h:' .. ARGV[i]
  f[#f + 1] = ARGV[i + 1]
  f[#f + 1] = 'r:' .. ARGV[i]
  f[#f + 1] = ARGV[i + 2]
end
redis.call(unpack(f))
append_change(KEYS[2], KEYS[3], ARGV[3], ARGV[1], tonumber(ARGV[5]), ARGV[2])
return {'ok'}
