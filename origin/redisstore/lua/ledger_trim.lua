-- KEYS: the partition's ledger order stream (mlog)
-- ARGV: before (unix ms), limit, the partition's key prefix
-- Ledger retention: trims up to limit movements older than before from the
-- front of the partition's ledger, in seq order. Each trimmed movement
-- leaves its SKU's stream and mlog; its warehouse's balance after it goes
-- to the SKU's openings hash "mo:<sku>" (field: warehouse, value
-- "seq:on_hand:reserved:version:at ms"), replacing the older opening, so
-- the SKU's retained ledger plus its openings still replay to its view.
-- One script, so a reader never sees a movement gone and its opening not
-- yet written. Makes no version or seq: not fenced.
-- Returns the number of movements trimmed.
local before, limit, part = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local refs = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', limit)
local n = 0
for _, e in ipairs(refs) do
  local id, sku = e[1], e[2][2]
  local ms = part .. 'ms:' .. sku
  local m = redis.call('XRANGE', ms, id, id)
  if m[1] then
    local f = move_fields(m[1][2])
    if tonumber(f.t) >= before then
      break -- seq order is time order
    end
    local seq = string.match(id, '^(%d+)-')
    redis.call('HSET', part .. 'mo:' .. sku, f.w, seq .. ':' .. f.h .. ':' .. f.r .. ':' .. f.v .. ':' .. f.t)
    redis.call('XDEL', ms, id)
  end
  redis.call('XDEL', KEYS[1], id)
  n = n + 1
end
return n
