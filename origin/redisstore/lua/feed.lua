-- KEYS: the partition's ledger order stream (mlog)
-- ARGV: after seq, limit, the partition's key prefix
-- Read-only: the next movements of one partition, in seq order, each
-- fetched from its SKU's stream (mlog names the SKU under the same ID).
-- Returns a flat list: id, sku, fields, id, sku, fields, ...
local refs = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1] .. '-0', '+', 'COUNT', ARGV[2])
local out = {}
for _, e in ipairs(refs) do
  local sku = e[2][2]
  local m = redis.call('XRANGE', ARGV[3] .. 'ms:' .. sku, e[1], e[1])
  if m[1] then
    out[#out + 1] = e[1]
    out[#out + 1] = sku
    out[#out + 1] = m[1][2]
  end
end
return out
