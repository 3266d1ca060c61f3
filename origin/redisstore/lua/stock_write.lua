-- KEYS: stock, seq, log[, idempotency record]
-- ARGV: change key, at ms, maxlen, op (set|adjust|transfer), warehouse,
--       qty (on_hand, delta or transferred), to warehouse, if-version (0:
--       none), sku, reason, ref, actor, idempotency key, fingerprint,
--       idempotency ttl ms
-- With an idempotency record key: a record with the same fingerprint
-- answers {'replay', stock hash as it was}; another fingerprint
-- {'idem_mismatch'}; else the write runs and records its outcome (the
-- stock hash after it) in the same step.
-- The stock hash holds "v", and per warehouse "h:<wh>" (on hand) and
-- "r:<wh>" (reserved). The state change, its movements and its change
-- record are one script, so one atomic step.
-- Job line mode (ARGV[16] set, a bulk job's line number): KEYS[4] is the
-- job's line bitmap in this SKU's partition instead of an idempotency
-- record. A set bit means the line already applied (a resumed job re-runs
-- a chunk a crash cut short): {'replay', stock hash now}, nothing written.
-- Else the write runs and sets the bit in the same step, so a line applies
-- exactly once.
-- Returns {'ok', stock hash} | {'below', reserved} | {'insufficient'} |
--   {'nf'} | {'mismatch', version} | {'replay', hash} | {'idem_mismatch'}
local stock = KEYS[1]
local idem = KEYS[4]
local jobbits, jobbit = nil, tonumber(ARGV[16])
if jobbit then
  jobbits, idem = KEYS[4], nil
  if redis.call('GETBIT', jobbits, jobbit) == 1 then
    return {'replay', redis.call('HGETALL', stock)}
  end
end
if idem then
  local fp = redis.call('HGET', idem, '_fp')
  if fp then
    if fp ~= ARGV[14] then
      return {'idem_mismatch'}
    end
    return {'replay', redis.call('HGETALL', idem)}
  end
end
local op, wh, qty, to = ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7]
local ifv = tonumber(ARGV[8])
local sku = ARGV[9]
local meta = {ARGV[10], ARGV[11], ARGV[12], ARGV[13]}
if ifv > 0 then
  local cur = tonumber(redis.call('HGET', stock, 'v')) or 0
  if cur ~= ifv then
    return {'mismatch', cur}
  end
end
local moves
if op == 'set' then
  local f = redis.call('HMGET', stock, 'h:' .. wh, 'r:' .. wh)
  local oh, r = tonumber(f[1]) or 0, tonumber(f[2]) or 0
  if qty < r then
    return {'below', r}
  end
  redis.call('HSET', stock, 'h:' .. wh, str(qty), 'r:' .. wh, str(r))
  moves = {{wh, 'set', qty - oh, qty, r}}
elseif op == 'adjust' then
  local f = redis.call('HMGET', stock, 'h:' .. wh, 'r:' .. wh)
  local oh, r = tonumber(f[1]), tonumber(f[2]) or 0
  if not oh then
    if qty < 0 then
      return {'nf'}
    end
    oh = 0
  end
  local n = oh + qty
  if n < 0 or n < r then
    return {'insufficient'}
  end
  redis.call('HSET', stock, 'h:' .. wh, str(n), 'r:' .. wh, str(r))
  moves = {{wh, 'adjust', qty, n, r}}
else
  local f = redis.call('HMGET', stock, 'h:' .. wh, 'r:' .. wh, 'h:' .. to, 'r:' .. to)
  local oh = tonumber(f[1])
  if not oh then
    return {'nf'}
  end
  local r = tonumber(f[2]) or 0
  if oh - r < qty then
    return {'insufficient'}
  end
  local toh, tr = tonumber(f[3]) or 0, tonumber(f[4]) or 0
  redis.call('HSET', stock, 'h:' .. wh, str(oh - qty), 'r:' .. wh, str(r),
    'h:' .. to, str(toh + qty), 'r:' .. to, str(tr))
  moves = {{wh, 'transfer_out', -qty, oh - qty, r}, {to, 'transfer_in', qty, toh + qty, tr}}
end
local v = next_field(stock, 'v')
local part = part_of(KEYS[2])
for _, m in ipairs(moves) do
  append_move(part, sku, m[1], m[2], m[3], 0, m[4], m[5], meta, v, ARGV[2])
end
append_change(KEYS[2], KEYS[3], ARGV[3], ARGV[1], v, ARGV[2])
local after = redis.call('HGETALL', stock)
if idem then
  local f = {'HSET', idem, '_fp', ARGV[14]}
  for i = 1, #after do
    f[#f + 1] = after[i]
  end
  redis.call(unpack(f))
  redis.call('PEXPIRE', idem, ARGV[15])
end
if jobbits then
  redis.call('SETBIT', jobbits, jobbit, 1)
  redis.call('PEXPIRE', jobbits, ARGV[15])
end
return {'ok', after}
