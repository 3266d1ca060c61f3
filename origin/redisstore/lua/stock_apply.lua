-- stock_apply.lua is prepended (after common.lua and fence.lua) to the
-- scripts that write stock: stock_write (one write) and stock_write_lines
-- (a bulk job's lines, many per call), so both run the same step.
-- The stock hash holds "v", and per warehouse "h:<wh>" (on hand) and
-- "r:<wh>" (reserved).
--
-- wh_fields adds a warehouse's fields to an HSET's arguments: on hand
-- always, reserved only when the field is new (HMGET gave false):
-- unchanged, it would only be two more arguments for Redis to propagate to
-- the AOF and the replicas.
local function wh_fields(a, w, oh, r, had_r)
  a[#a + 1] = 'h:' .. w
  a[#a + 1] = str(oh)
  if not had_r then
    a[#a + 1] = 'r:' .. w
    a[#a + 1] = str(r)
  end
end

-- stock_apply runs one set, adjust or transfer on the stock hash, appends
-- its movements to the ledger and its change record to the change log.
-- qty and ifv are numbers; meta is {reason, ref, actor, idempotency key}.
-- ctr, when given, numbers the ledger and change seqs in Lua ({m = last
-- ledger seq, c = last change seq}, advanced here) instead of an INCR of
-- each counter per write: stock_write_lines reads the counters once and
-- writes them back once; its rg and cr gather the movements' mlog
-- entries and the changes into runs (run_add), flushed by
-- the caller.
-- Returns 'ok', version | 'below', reserved | 'insufficient' | 'nf' |
-- 'mismatch', version; on anything but 'ok' it wrote nothing.
local function stock_apply(stock, seqkey, logkey, maxlen, changekey, at, op, wh, qty, to, ifv, sku, meta, ctr)
  -- One HMGET reads the version with the warehouse fields and one HSET
  -- writes them all with the next version (not an HINCRBY of "v"
  -- besides): a line is five commands, and every one is paid again in the
  -- AOF and on the replicas.
  local f
  if op == 'transfer' then
    f = redis.call('HMGET', stock, 'v', 'h:' .. wh, 'r:' .. wh, 'h:' .. to, 'r:' .. to)
  else
    f = redis.call('HMGET', stock, 'v', 'h:' .. wh, 'r:' .. wh)
  end
  local cur = tonumber(f[1]) or 0
  if ifv > 0 and cur ~= ifv then
    return 'mismatch', cur
  end
  local v = above(cur)
  local vs = str(v) -- once: the HSET, the movements and the change all write it
  local moves
  if op == 'set' then
    local oh, r = tonumber(f[2]) or 0, tonumber(f[3]) or 0
    if qty < r then
      return 'below', r
    end
    local a = {'HSET', stock, 'v', vs}
    wh_fields(a, wh, qty, r, f[3])
    redis.call(unpack(a))
    moves = {{wh, 'set', qty - oh, qty, r}}
  elseif op == 'adjust' then
    local oh, r = tonumber(f[2]), tonumber(f[3]) or 0
    if not oh then
      if qty < 0 then
        return 'nf'
      end
      oh = 0
    end
    local n = oh + qty
    if n < 0 or n < r then
      return 'insufficient'
    end
    local ns = str(n)
    local a = {'HSET', stock, 'v', vs}
    wh_fields(a, wh, ns, r, f[3])
    redis.call(unpack(a))
    moves = {{wh, 'adjust', qty, ns, f[3] or r}}
  else
    local oh = tonumber(f[2])
    if not oh then
      return 'nf'
    end
    local r = tonumber(f[3]) or 0
    if oh - r < qty then
      return 'insufficient'
    end
    local toh, tr = tonumber(f[4]) or 0, tonumber(f[5]) or 0
    local a = {'HSET', stock, 'v', vs}
    wh_fields(a, wh, oh - qty, r, f[3])
    wh_fields(a, to, toh + qty, tr, f[5])
    redis.call(unpack(a))
    moves = {{wh, 'transfer_out', -qty, oh - qty, r}, {to, 'transfer_in', qty, toh + qty, tr}}
  end
  local part = part_of(seqkey)
  for _, m in ipairs(moves) do
    local mseq
    if ctr then
      ctr.m = above(ctr.m)
      mseq = ctr.m
    end
    append_move(part, sku, m[1], m[2], m[3], 0, m[4], m[5], meta, vs, at, mseq, ctr and ctr.rg)
  end
  local cseq
  if ctr then
    ctr.c = above(ctr.c)
    cseq = ctr.c
  end
  append_change(seqkey, logkey, maxlen, changekey, vs, at, cseq, ctr and ctr.cr)
  return 'ok', v
end
