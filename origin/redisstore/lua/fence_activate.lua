-- KEYS: any key of the partition
-- ARGV: the epoch fence_prepare.lua prepared (and every replica acknowledged)
-- Step 2: make it the partition's active epoch on this node. Epochs never
-- go back: a lower one (a slower origin fencing at the same time) leaves
-- the higher in place.
local ep = partition_of(KEYS[1]) .. 'ep'
local id = node_identity()
local rec = redis.call('HMGET', ep, 'e', 'id')
local n = tonumber(ARGV[1])
local cur = tonumber(rec[1])
if rec[2] == id and cur and cur >= n then
  return {'ok', cur}
end
if cur and cur > n then
  n = cur
end
redis.call('HSET', ep, 'e', str(n), 'id', id)
return {'ok', n}
