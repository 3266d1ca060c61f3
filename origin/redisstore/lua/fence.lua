-- fence.lua is prepended (after common.lua) to every script that makes a
-- version, a change seq or a ledger seq. The partition's epoch record
-- "<partition>ep" (e: active epoch, n: highest epoch prepared, id: the node
-- identity e was activated on) is only valid on the node it was activated
-- on: on any other (a promoted replica, a restarted server) the script
-- changes nothing and answers {'fence'}; the Go side then moves the
-- partition to a new epoch (see fence_prepare.lua) and runs it again.
do
  local rec = redis.call('HMGET', partition_of(KEYS[1]) .. 'ep', 'e', 'id')
  if rec[2] ~= node_identity() then
    return {'fence'}
  end
  EPOCH = tonumber(rec[1])
end
