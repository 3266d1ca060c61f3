-- KEYS: the holds key of the first partition listed (routes the call;
--       the others are not declared: other slots of the same node, which
--       the allow-cross-slot-keys flag permits in a cluster)
-- ARGV: now ms, "<prefix>:{p", then partition numbers
-- Which of the partitions have a hold due (scored at or before now): one
-- script per node instead of one ZCOUNT per partition on the wire, so the
-- expiry pass an origin makes every ExpireInterval costs one round trip
-- per node, not one command per partition to encode and parse.
-- Returns the partition numbers with a due hold.
local out = {}
for i = 3, #ARGV do
  if redis.call('ZCOUNT', ARGV[2] .. ARGV[i] .. '}:holds', '-inf', ARGV[1]) > 0 then
    out[#out + 1] = tonumber(ARGV[i])
  end
end
return out
