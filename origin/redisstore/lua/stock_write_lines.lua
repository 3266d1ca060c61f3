-- KEYS: the partition's seq, log, and the job's line bitmap in it
-- ARGV: at ms, maxlen, bitmap ttl ms, then per line 11 values: line
--       number, op, warehouse, qty, to warehouse, sku, change key, reason,
--       ref, actor, idempotency key (the line's derived one, recorded on
--       its movements)
-- A bulk job's lines of one partition, in line order, each the same step
-- as a synchronous write (stock_apply): one script call and one fence
-- check for many lines instead of one each; the ledger and change
-- counters are read once and written once, the line bits read and set
-- with one BITFIELD each. Each line's bit in the bitmap
-- says it applied: a set bit (a resumed job re-running a chunk) answers
-- 'replay' for that line and writes nothing; else the line runs and sets
-- its bit in the same script, so every line applies exactly once.
-- Returns {'ok', tag1, x1, tag2, x2, ...}: per line its stock_apply tag
-- (or 'replay') and its extra value (0 when none).
local bits, ttl = KEYS[3], ARGV[3]
local part = part_of(KEYS[1])
local mseqkey = part .. 'mseq'

-- The last number a counter handed out: its value, or its stream's last
-- entry should the counter have fallen behind it (append_change's
-- fallback, done once here).
local function last_of(counter, stream)
  local n = tonumber(redis.call('GET', counter)) or 0
  local top = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
  if top[1] then
    n = math.max(n, tonumber(string.match(top[1][1], '^(%d+)-')))
  end
  return n
end
local ctr = {m = last_of(mseqkey, part .. 'mlog'), c = last_of(KEYS[1], KEYS[2])}
local m0, c0 = ctr.m, ctr.c

-- Which lines already applied: one BITFIELD for all of them (in slices,
-- to stay far below Lua's stack limit).
local done = {}
local lines = {}
for i = 4, #ARGV, 11 do
  lines[#lines + 1] = tonumber(ARGV[i])
end
local function bitfield(from, to, op)
  local args = {'BITFIELD', bits}
  for k = from, to do
    args[#args + 1] = op
    args[#args + 1] = 'u1'
    args[#args + 1] = lines[k]
    if op == 'SET' then
      args[#args + 1] = 1
    end
  end
  return redis.call(unpack(args))
end
for from = 1, #lines, 500 do
  local got = bitfield(from, math.min(from + 499, #lines), 'GET')
  for k = 1, #got do
    done[from + k - 1] = got[k] == 1
  end
end

local out = {'ok'}
local newly = {}
for k = 1, #lines do
  local i = 4 + (k - 1) * 11
  if done[k] then
    out[#out + 1] = 'replay'
    out[#out + 1] = 0
  else
    local sku = ARGV[i + 5]
    local tag, x = stock_apply(part .. 's:' .. sku, KEYS[1], KEYS[2], ARGV[2], ARGV[i + 6], ARGV[1],
      ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]), ARGV[i + 4], 0, sku,
      {ARGV[i + 7], ARGV[i + 8], ARGV[i + 9], ARGV[i + 10]}, ctr)
    if tag == 'ok' then
      newly[#newly + 1] = lines[k]
    end
    out[#out + 1] = tag
    out[#out + 1] = x or 0
  end
end
if ctr.m ~= m0 then
  redis.call('SET', mseqkey, str(ctr.m))
end
if ctr.c ~= c0 then
  redis.call('SET', KEYS[1], str(ctr.c))
  -- One wake-up of the tailers for all the lines' changes.
  notify_tail(KEYS[2])
end
if #newly > 0 then
  lines = newly
  for from = 1, #lines, 500 do
    bitfield(from, math.min(from + 499, #lines), 'SET')
  end
  redis.call('PEXPIRE', bits, ttl)
end
return out
