-- write_lines applies a bulk job's lines of one partition, in line order,
-- each the same step as a synchronous write (stock_apply): the ledger and
-- change counters are read once and written once, the line bits read and
-- set with one BITFIELD each. Each line's bit in the job's bitmap of the
-- partition says it applied: a set bit (a resumed job re-running a chunk)
-- answers 'replay' for that line and writes nothing; else the line runs
-- and sets its bit in the same script, so every line applies exactly once.
-- seqkey, logkey, bits: the partition's seq and log and the job's bitmap
-- in it; actor: the job's; ikey: its lines' idempotency key prefix
-- ("job:<id>:", store.JobLineKey: a line's key is it and the line
-- number); args[from], args[from + 8], ... start the count lines (8
-- values each: line number, op, warehouse, qty, to warehouse, sku,
-- reason, ref; what is the same for every line, or made from the others,
-- is not sent per line: every argument costs Redis a string object to
-- parse and free). It records in out ({f = {}, e = {}}, see
-- lines_reply) each line's outcome: in out.f one letter, 'o' applied now,
-- 'r' applied before (a replay), 'e' refused; for a refused line, in out.e
-- its index in out.f, its stock_apply tag and extra value.
-- EPOCH must be the partition's (its fence checked). It returns whether
-- the partition's change log grew; unless quiet, it also wakes the
-- tailers (quiet: the caller publishes once for several partitions).
local function write_lines(seqkey, logkey, bits, at, maxlen, ttl, actor, ikey, args, from, count, out, quiet)
  local part = part_of(seqkey)
  local mseqkey = part .. 'mseq'

  -- The last number a counter handed out: its value, or its stream's
  -- last entry should the counter have fallen behind it (append_change's
  -- fallback, done once here).
  local function last_of(counter, stream)
    local n = tonumber(redis.call('GET', counter)) or 0
    local top = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
    if top[1] then
      n = math.max(n, tonumber(string.match(top[1][1], '^(%d+)-')))
    end
    return n
  end
  local ctr = {m = last_of(mseqkey, part .. 'mlog'), c = last_of(seqkey, logkey), rg = {items = {}}, cr = {items = {}}}
  local m0, c0 = ctr.m, ctr.c

  -- Which lines already applied: one BITFIELD for all of them (in slices,
  -- to stay far below Lua's stack limit).
  -- The line numbers stay the strings they came as: a Lua number given to
  -- redis.call is printed with %.17g, ~0.3 us each, twice a line.
  local done = {}
  local lines = {}
  for k = 0, count - 1 do
    lines[#lines + 1] = args[from + k * 8]
  end
  local function bitfield(lo, hi, op)
    local a = {'BITFIELD', bits}
    for k = lo, hi do
      a[#a + 1] = op
      a[#a + 1] = 'u1'
      a[#a + 1] = lines[k]
      if op == 'SET' then
        a[#a + 1] = '1'
      end
    end
    return redis.call(unpack(a))
  end
  for lo = 1, #lines, 500 do
    local got = bitfield(lo, math.min(lo + 499, #lines), 'GET')
    for k = 1, #got do
      done[lo + k - 1] = got[k] == 1
    end
  end

  local newly = {}
  for k = 1, #lines do
    local i = from + (k - 1) * 8
    if done[k] then
      out.f[#out.f + 1] = 'r'
    else
      local sku = args[i + 5]
      local tag, x = stock_apply(part .. 's:' .. sku, seqkey, logkey, maxlen, 's:' .. sku, at,
        args[i + 1], args[i + 2], tonumber(args[i + 3]), args[i + 4], 0, sku,
        {args[i + 6], args[i + 7], actor, ikey .. lines[k]}, ctr)
      if tag == 'ok' then
        newly[#newly + 1] = lines[k]
        out.f[#out.f + 1] = 'o'
      else
        out.f[#out.f + 1] = 'e'
        out.e[#out.e + 1] = #out.f
        out.e[#out.e + 1] = tag
        out.e[#out.e + 1] = x or 0
      end
    end
  end
  if ctr.m ~= m0 then
    -- The lines' movements go into mlog as runs (run_add): one entry
    -- per 256 movements, not one per movement.
    run_flush(part .. 'mlog', ctr.rg)
    redis.call('SET', mseqkey, str(ctr.m))
  end
  if ctr.c ~= c0 then
    -- The lines' changes go in as runs (run_add): one entry per 256.
    run_flush(logkey, ctr.cr)
    redis.call('SET', seqkey, str(ctr.c))
    -- One trim for all of them: by seq (an entry's ID is its last), so
    -- the log keeps the last maxlen changes however they are grouped,
    -- and at most a run's 255 more.
    local floor = ctr.c - tonumber(maxlen) + 1
    if floor > 1 then
      redis.call('XTRIM', logkey, 'MINID', str(floor) .. '-0')
    end
    -- One wake-up of the tailers for all the lines' changes.
    if not quiet then
      notify_tail(logkey)
    end
  end
  if #newly > 0 then
    lines = newly
    for lo = 1, #lines, 500 do
      bitfield(lo, math.min(lo + 499, #lines), 'SET')
    end
    redis.call('PEXPIRE', bits, ttl)
  end
  return ctr.c ~= c0
end
