-- KEYS: the partition's ledger order stream (mlog)
-- ARGV: before (unix ms), limit, the partition's key prefix
-- Ledger retention: trims up to limit movements older than before from the
-- front of the partition's ledger, in seq order. Each trimmed movement
-- leaves its SKU's stream; its warehouse's balance after it goes to the
-- SKU's openings hash "mo:<sku>" (field: warehouse, value
-- "seq:on_hand:reserved:version:at ms"), replacing the older opening, so
-- the SKU's retained ledger plus its openings still replay to its view.
-- An mlog entry leaves once every movement it names has: a run (see
-- run_add) trimmed part way stays, and the next call skips the
-- movements of it that are gone. One script, so a reader never sees a
-- movement gone and its opening not yet written. Makes no version or seq:
-- not fenced.
-- Returns the number of movements trimmed (an entry whose movements were
-- all gone already counts as one, so a call always gets somewhere).
local before, limit, part = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local refs = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', limit)
local n = 0
for _, e in ipairs(refs) do
  local trimmed = 0
  for _, ref in ipairs(mlog_refs(e)) do
    local id, sku = ref[2], ref[3]
    local ms = part .. 'ms:' .. sku
    local m = redis.call('XRANGE', ms, id, id)
    if m[1] then
      if n >= limit then
        return n
      end
      local f = move_fields(m[1][2])
      if tonumber(f.t) >= before then
        return n -- seq order is time order
      end
      redis.call('HSET', part .. 'mo:' .. sku, f.w, str(ref[1]) .. ':' .. f.h .. ':' .. f.r .. ':' .. f.v .. ':' .. f.t)
      redis.call('XDEL', ms, id)
      n = n + 1
      trimmed = trimmed + 1
    end
  end
  if trimmed == 0 then
    if n >= limit then
      return n
    end
    n = n + 1
  end
  redis.call('XDEL', KEYS[1], e[1])
end
return n
