-- KEYS: any key of the partition
-- Step 1 of moving a partition to a new epoch on this node. Returns {'ok'}
-- when the epoch is already active for this node's identity (another
-- origin fenced first), else records the next epoch as prepared ("n") and
-- returns {'pending', epoch, connected replicas}. The caller WAITs for
-- every connected replica before activating it (fence_activate.lua), so an
-- epoch is used only once every replica holds it prepared: a replica
-- promoted later prepares a higher one, even if the activation and every
-- write made under it were lost.
local ep = partition_of(KEYS[1]) .. 'ep'
local rec = redis.call('HMGET', ep, 'e', 'n', 'id')
if rec[3] == node_identity() then
  return {'ok'}
end
local n = 0
if rec[2] then
  n = math.max(tonumber(rec[1]) or 0, tonumber(rec[2])) + 1
end
redis.call('HSET', ep, 'n', str(n))
local reps = string.match(redis.call('INFO', 'replication'), 'connected_slaves:(%d+)')
return {'pending', n, tonumber(reps) or 0}
