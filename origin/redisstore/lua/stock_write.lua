-- KEYS: stock, seq, log[, idempotency record]
-- ARGV: change key, at ms, maxlen, op (set|adjust|transfer), warehouse,
--       qty (on_hand, delta or transferred), to warehouse, if-version (0:
--       none), sku, reason, ref, actor, idempotency key, fingerprint,
--       idempotency ttl ms
-- With an idempotency record key: a record with the same fingerprint
-- answers {'replay', stock hash as it was}; another fingerprint
-- {'idem_mismatch'}; else the write runs and records its outcome (the
-- stock hash after it) in the same step.
-- The write itself is stock_apply (lua/stock_apply.lua, shared with
-- stock_write_lines): the state change, its movements and its change
-- record in one script, so one atomic step.
-- Job line mode (ARGV[16] set, a bulk job's line number): KEYS[4] is the
-- job's line bitmap in this SKU's partition instead of an idempotency
-- record. A set bit means the line already applied (a resumed job re-runs
-- a chunk a crash cut short): {'replay'}, nothing written. Else the write
-- runs and sets the bit in the same step, so a line applies exactly once;
-- it answers {'ok'} without the view (a job needs none).
-- Returns {'ok', stock hash} | {'below', reserved} | {'insufficient'} |
--   {'nf'} | {'mismatch', version} | {'replay', hash} | {'idem_mismatch'}
local stock = KEYS[1]
local idem = KEYS[4]
local jobbits, jobbit = nil, tonumber(ARGV[16])
if jobbit then
  jobbits, idem = KEYS[4], nil
  if redis.call('GETBIT', jobbits, jobbit) == 1 then
    return {'replay'}
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
local tag, x = stock_apply(stock, KEYS[2], KEYS[3], ARGV[3], ARGV[1], ARGV[2], ARGV[4], ARGV[5],
  tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8]), ARGV[9], {ARGV[10], ARGV[11], ARGV[12], ARGV[13]})
if tag ~= 'ok' then
  if x then
    return {tag, x}
  end
  return {tag}
end
if jobbits then
  -- A job line needs no view back: only whether it applied.
  redis.call('SETBIT', jobbits, jobbit, 1)
  redis.call('PEXPIRE', jobbits, ARGV[15])
  return {'ok'}
end
local after = redis.call('HGETALL', stock)
if idem then
  local f = {'HSET', idem, '_fp', ARGV[14]}
  for i = 1, #after do
    f[#f + 1] = after[i]
  end
  redis.call(unpack(f))
  redis.call('PEXPIRE', idem, ARGV[15])
end
return {'ok', after}
