-- KEYS: the partition's ledger order stream (mlog)
-- ARGV: after seq, limit, the partition's key prefix
-- Read-only: the next movements of one partition, in seq order, each
-- fetched from its SKU's stream (mlog names the SKU of each seq: one per
-- entry, or a run of them, see run_add). An entry's ID is its last seq,
-- so the entries after "after" hold every movement after it; a run that
-- began at or before it is skipped up to it.
-- Returns a flat list: id, sku, fields, id, sku, fields, ...
local after, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local refs = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1] .. '-0', '+', 'COUNT', ARGV[2])
local out = {}
local n = 0
for _, e in ipairs(refs) do
  for _, ref in ipairs(mlog_refs(e)) do
    if ref[1] > after then
      local m = redis.call('XRANGE', ARGV[3] .. 'ms:' .. ref[3], ref[2], ref[2])
      if m[1] then
        out[#out + 1] = ref[2]
        out[#out + 1] = ref[3]
        out[#out + 1] = m[1][2]
        n = n + 1
        if n >= limit then
          return out
        end
      end
    end
  end
end
return out
