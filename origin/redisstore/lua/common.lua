-- common.lua is prepended to every script. Conventions of all scripts:
--   * every key a script touches shares one partition hash tag, so a script
--     never crosses slots;
--   * numbers are integers (Lua doubles, exact below 2^53); they go to
--     redis.call as strings made with str(), never with tostring/.., whose
--     %.14g format would print large numbers in exponent form;
--   * a script returns {tag, ...}: tag "ok" or a domain outcome the Go side
--     maps to an origin sentinel error; it raises only on a bug.

local function str(n)
  if type(n) == 'string' then
    return n -- already made by str (or an argument): string.format costs ~0.17 us
  end
  return string.format('%d', n)
end

-- EPOCH is the partition's fencing epoch; fence.lua (prepended to every
-- script that makes versions or seqs) sets it, read-only scripts leave it
-- 0. Every version, change seq and ledger seq a write makes is at least
-- EPOCH * EPOCH_SPAN + 1, so after a failover that lost writes (and bumped
-- the epoch) no number is ever handed out twice. 2^32 numbers per epoch
-- keep EPOCH * EPOCH_SPAN exact in a Lua double up to epoch 2^21.
local EPOCH = 0
local EPOCH_SPAN = 4294967296

-- above returns the number after n: n + 1, or the epoch's first number
-- when n is below it.
local function above(n)
  return math.max(n + 1, EPOCH * EPOCH_SPAN + 1)
end

-- next_field increments an integer hash field the way HINCRBY does, but
-- never to a number below the epoch's first.
local function next_field(key, field)
  local v = redis.call('HINCRBY', key, field, 1)
  if v <= EPOCH * EPOCH_SPAN then
    v = EPOCH * EPOCH_SPAN + 1
    redis.call('HSET', key, field, str(v))
  end
  return v
end

-- next_counter is INCR with the same floor.
local function next_counter(key)
  local v = redis.call('INCR', key)
  if v <= EPOCH * EPOCH_SPAN then
    v = EPOCH * EPOCH_SPAN + 1
    redis.call('SET', key, str(v))
  end
  return v
end

-- node_identity names the node this script runs on as it is now: its
-- master_replid, which a replica replaces at its promotion (it may lack
-- writes its old master acknowledged) and a server replaces at every
-- restart that loads an AOF (which may have lost its last writes). One
-- INFO section, ~15 us: the price of the epoch check on every write.
local function node_identity()
  return string.match(redis.call('INFO', 'replication'), 'master_replid:(%x+)') or '?'
end

-- partition_of returns "<prefix>:{pN}:" from any key of the partition.
local function partition_of(key)
  return string.match(key, '^(.-{p%d+}:)')
end

-- notify_tail tells tailing origins that the partition of logkey
-- ("<prefix>:{pN}:log") has a new change: PUBLISH on "<prefix>:tail" with
-- N, so a tailer blocks on its subscription instead of polling every
-- partition's head (see ChangeNotify in changes_notify.go). A key-less
-- command, so a script may send it on any node; Redis Cluster carries it
-- to every node.
local function notify_tail(logkey)
  local prefix, p = string.match(logkey, '^(.*):{p(%d+)}:log$')
  if prefix then
    redis.call('PUBLISH', prefix .. ':tail', p)
  end
end

-- change_field is a change entry's one field "c": "<key> <version> <at
-- ms>" (see append_change; purge.lua writes it too).
local function change_field(key, version, at)
  return key .. ' ' .. str(version) .. ' ' .. at
end

-- run_add and run_flush write a bulk call's entries of one stream (its
-- change log, its ledger order "mlog") as runs: rg ({items = {}}) gathers
-- consecutive seqs sharing one lead value, and run_flush writes them as
-- ONE entry, ID "<last seq>-0", field "r" = "<first seq>[ <lead>] <item>
-- <item> ...": one XADD per up to 256 seqs instead of one per seq (each
-- XADD is paid again in the AOF and on the replicas). A change log run's
-- lead is the time and its items "<key> <version>"; an mlog run has no
-- lead and its items are SKUs. Readers expand a run (changes: Go's
-- appendChanges, change_time and change_count below; mlog: mlog_refs), so
-- the streams still name every seq. A run ends at 256 items (a reader's
-- page re-reads its entry whole), at another lead, or at a gap in the
-- seqs (none within one call: only a call's first seq can jump to a new
-- epoch's; checked so a run can never misname a seq).
local run_max = 256

local function run_flush(key, rg)
  local n = #rg.items
  if n == 0 then
    return
  end
  local head = str(rg.first)
  if rg.lead then
    head = head .. ' ' .. rg.lead
  end
  redis.call('XADD', key, str(rg.first + n - 1) .. '-0', 'r', head .. ' ' .. table.concat(rg.items, ' '))
  rg.first, rg.lead, rg.items = nil, nil, {}
end

local function run_add(key, rg, seq, lead, item)
  if rg.first and (rg.first + #rg.items ~= seq or rg.lead ~= lead or #rg.items >= run_max) then
    run_flush(key, rg)
  end
  rg.first = rg.first or seq
  rg.lead = lead
  rg.items[#rg.items + 1] = item
end

-- append_change bumps the partition's seq and appends "key reached version"
-- to the partition's change stream, trimmed to about maxlen entries. The
-- stream entry ID is "<seq>-0", so readers can ask for "after seq" exactly.
-- The entry's one field "c" is "<key> <version> <at ms>" (keys hold no
-- space): one argument instead of six for Redis to propagate to the AOF
-- and the replicas. Entries written before 2026-12-05 hold fields k, v
-- and t; readers take both (change_time below, changeFromEntry in Go).
-- If the seq key fell behind its stream (deleted by hand, or evicted by a
-- Redis that is wrongly allowed to evict), XADD refuses the smaller ID; the
-- log then continues after its last entry instead of failing every write.
local function append_change(seqkey, logkey, maxlen, key, version, at, seq, rg)
  if seq then
    -- The caller numbers the changes itself (write_lines: one GET and
    -- one SET of the counter for many writes), made sure seq is above the
    -- stream's last entry, gathers them into runs (rg, see run_add) and
    -- flushes those, trims the stream and calls notify_tail once at its
    -- end.
    run_add(logkey, rg, seq, at, key .. ' ' .. str(version))
    return seq
  end
  local c = change_field(key, version, at)
  seq = next_counter(seqkey)
  local res = redis.pcall('XADD', logkey, 'MAXLEN', '~', maxlen, str(seq) .. '-0', 'c', c)
  if type(res) == 'table' and res.err then
    local top = redis.call('XREVRANGE', logkey, '+', '-', 'COUNT', 1)
    local last = top[1] and tonumber(string.match(top[1][1], '^(%d+)-'))
    if last and last >= seq then
      seq = last + 1
      redis.call('SET', seqkey, str(seq))
    end
    -- Raises the original error if the cause was something else.
    redis.call('XADD', logkey, 'MAXLEN', '~', maxlen, str(seq) .. '-0', 'c', c)
  end
  notify_tail(logkey)
  return seq
end

-- change_time returns a change entry's time (unix ms) from its fields (a
-- flat field, value list), any layout (see append_change and run_add);
-- nil if none.
local function change_time(kv)
  for i = 1, #kv, 2 do
    if kv[i] == 'c' then
      return tonumber(string.match(kv[i + 1], ' (%d+)$'))
    elseif kv[i] == 'r' then
      return tonumber(string.match(kv[i + 1], '^%d+ (%d+)'))
    elseif kv[i] == 't' then
      return tonumber(kv[i + 1])
    end
  end
  return nil
end

-- change_count returns how many changes a change entry holds: a run's
-- (see run_add), else one.
local function change_count(e)
  local kv = e[2]
  if kv[1] == 'r' then
    local first = tonumber(string.match(kv[2], '^(%d+)'))
    local last = tonumber(string.match(e[1], '^(%d+)-'))
    if first and last and last >= first then
      return last - first + 1
    end
  end
  return 1
end

-- lines_reply is a bulk call's answer from its lines' outcomes (see
-- write_lines): {'ok', letters, index, tag, extra, ...}, one letter a line
-- and three values only for a refused one (not two values for every line:
-- each is a reply element for Redis to write and the client to parse).
local function lines_reply(out)
  local r = {'ok', table.concat(out.f)}
  for i = 1, #out.e do
    r[#r + 1] = out.e[i]
  end
  return r
end

-- part_of returns the partition's key prefix "<prefix>:{pN}:" from its
-- seq key "<prefix>:{pN}:seq".
local function part_of(seqkey)
  return string.sub(seqkey, 1, #seqkey - 3)
end

-- move_meta_fields names a movement's optional fields, in meta's order.
local move_meta_fields = {'rs', 'rf', 'a', 'i'}

-- mlog_refs returns the movements an mlog entry names, in seq order, as
-- {seq, "<seq>-0", sku}: one for an entry of one movement (field "s",
-- ID its seq), a run for a batched one (field "r", see run_add).
local function mlog_refs(e)
  local kv = e[2]
  if kv[1] == 'r' then
    local out = {}
    local seq = nil
    for w in string.gmatch(kv[2], '%S+') do
      if seq == nil then
        seq = tonumber(w)
      else
        out[#out + 1] = {seq, str(seq) .. '-0', w}
        seq = seq + 1
      end
    end
    return out
  end
  return {{tonumber(string.match(e[1], '^(%d+)-')), e[1], kv[2]}}
end

-- append_move appends one movement to the stock ledger, in the same script
-- (so the same atomic step) as the change it records: the partition's
-- ledger counter gives it a seq; the SKU's own stream "ms:<sku>" holds the
-- movement under entry ID "<seq>-0" (ordered per SKU), and the partition's
-- "mlog" stream names the SKU under the same seq (ordered per partition,
-- for the feed). Only ledger retention trims them (ledger_trim.lua). meta is
-- {reason, ref, actor, idempotency key}; empty ones are left out. A caller
-- that numbers movements itself passes seq (see append_change) and rg, a
-- run (run_add) of the partition's mlog that it flushes with run_flush
-- before it ends.
--
-- The fixed fields go packed in one field "p": "<warehouse> <kind>
-- <delta on hand> <delta reserved> <on hand> <reserved> <version> <at
-- ms>" (none can hold a space: warehouses are [A-Za-z0-9._:-]), and,
-- when none of reason, ref, actor and idempotency key holds a space (a
-- fixed list, a key ID and printable ASCII never do; a ref may),
-- " <reason> <ref> <actor> <idempotency key>" after them, each possibly
-- empty. Every argument of a write is paid again when Redis propagates it
-- to the AOF and the replicas (~0.13 us each on this machine): twelve
-- values as one are up to 22 arguments fewer per movement, and Redis
-- keeps one string in less memory than four fields (~4 % less a movement,
-- measured with MEMORY USAGE). Otherwise the four go as fields rs, rf, a
-- and i. Entries written before 2026-12-05 hold all twelve as fields (w,
-- k, dh, dr, h, r, v, t, rs, rf, a, i); readers take every layout.
local function append_move(part, sku, wh, kind, doh, dr, oh, r, meta, v, at, seq, rg)
  seq = seq or next_counter(part .. 'mseq')
  local id = str(seq) .. '-0'
  local p = wh .. ' ' .. kind .. ' ' .. str(doh) .. ' ' .. str(dr) .. ' ' .. str(oh) .. ' ' .. str(r) .. ' ' .. str(v) .. ' ' .. at
  local rs, rf, a, i = meta[1] or '', meta[2] or '', meta[3] or '', meta[4] or ''
  local f
  if (rs ~= '' or rf ~= '' or a ~= '' or i ~= '') and not string.find(rs .. rf .. a .. i, ' ', 1, true) then
    f = {'XADD', part .. 'ms:' .. sku, id, 'p', p .. ' ' .. rs .. ' ' .. rf .. ' ' .. a .. ' ' .. i}
  else
    f = {'XADD', part .. 'ms:' .. sku, id, 'p', p}
    for k = 1, 4 do
      if meta[k] and meta[k] ~= '' then
        f[#f + 1] = move_meta_fields[k]
        f[#f + 1] = meta[k]
      end
    end
  end
  redis.call(unpack(f))
  if rg then
    run_add(part .. 'mlog', rg, seq, nil, sku)
  else
    redis.call('XADD', part .. 'mlog', id, 's', sku)
  end
  return seq
end

-- move_fields returns a ledger entry's fields (a flat field, value list)
-- as a table with w, k, dh, dr, h, r, v and t (and rs, rf, a, i when
-- set), from the packed "p" or the separate fields of older entries (see
-- append_move).
local function move_fields(kv)
  local f = {}
  for i = 1, #kv, 2 do
    f[kv[i]] = kv[i + 1]
  end
  if f.p then
    local w, k, dh, dr, h, r, v, t, rest = string.match(f.p, '^(%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+)(.*)$')
    f.w, f.k, f.dh, f.dr, f.h, f.r, f.v, f.t = w, k, dh, dr, h, r, v, t
    if rest and rest ~= '' then
      local rs, rf, a, i = string.match(rest, '^ (%S*) (%S*) (%S*) (%S*)$')
      if rs and rs ~= '' then f.rs = rs end
      if rf and rf ~= '' then f.rf = rf end
      if a and a ~= '' then f.a = a end
      if i and i ~= '' then f.i = i end
    end
  end
  return f
end

-- move_kinds names the movement that ends a hold with each status.
local move_kinds = {committed = 'commit', released = 'release', expired = 'expire'}

-- due reports whether an expiry (es seconds, en nanoseconds) is at or
-- before now (ns, nn): exact to the nanosecond without exceeding 2^53.
local function due(es, en, ns, nn)
  es, en, ns, nn = tonumber(es), tonumber(en), tonumber(ns), tonumber(nn)
  return es < ns or (es == ns and en <= nn)
end

-- bytes_less compares byte by byte: Lua's < uses strcoll, which depends on
-- the server's locale, and warehouse ties must break the same everywhere.
local function bytes_less(a, b)
  if b == nil then return true end
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- finish_hold ends a held reservation: it returns its qty to the
-- warehouse (and, when sold, takes it off on_hand too), bumps the SKU's
-- version, sets the reservation's final status, drops it from the holds
-- index, schedules the record's deletion after the retention period, and
-- appends the change. r is HMGET st, sku, wh, q.
local function finish_hold(reskey, holdskey, id, stockprefix, r, status, sold,
                           seqkey, logkey, maxlen, at, retention)
  local stockkey = stockprefix .. r[2]
  local q = tonumber(r[4])
  redis.call('HINCRBY', stockkey, 'r:' .. r[3], str(-q))
  if sold then
    redis.call('HINCRBY', stockkey, 'h:' .. r[3], str(-q))
  end
  local v = next_field(stockkey, 'v')
  local after = redis.call('HMGET', stockkey, 'h:' .. r[3], 'r:' .. r[3])
  local doh = 0
  if sold then doh = -q end
  append_move(part_of(seqkey), r[2], r[3], move_kinds[status], doh, -q,
    tonumber(after[1]), tonumber(after[2]), {'', id, '', ''}, v, at)
  redis.call('HSET', reskey, 'st', status)
  redis.call('ZREM', holdskey, id)
  redis.call('PEXPIRE', reskey, retention)
  append_change(seqkey, logkey, maxlen, 's:' .. r[2], v, at)
  return v
end


-- split_tags splits a comma-joined tag list ("" = none). Tags match
-- [A-Za-z0-9_-]{1,32}, so they hold no comma.
local function split_tags(s)
  local out = {}
  if not s or s == '' then return out end
  for t in string.gmatch(s, '[^,]+') do out[#out + 1] = t end
  return out
end

-- set_link_index puts code in (or, with add false, takes it out of) the
-- partition's listing index "codes" and the index of each of its tags:
-- sorted sets of score 0, so ZRANGE BYLEX pages through them by code.
local function set_link_index(part, code, tags, add)
  if add then
    redis.call('ZADD', part .. 'codes', 0, code)
    for _, t in ipairs(tags) do redis.call('ZADD', part .. 'tag:' .. t, 0, code) end
  else
    redis.call('ZREM', part .. 'codes', code)
    for _, t in ipairs(tags) do redis.call('ZREM', part .. 'tag:' .. t, code) end
  end
end

-- time_before compares two stored times "<sec>.<9-digit ns>".
local function time_before(a, b)
  local as, an = string.match(a, '^(-?%d+)%.(%d+)$')
  local bs, bn = string.match(b, '^(-?%d+)%.(%d+)$')
  as, an, bs, bn = tonumber(as), tonumber(an), tonumber(bs), tonumber(bn)
  return as < bs or (as == bs and an < bn)
end
