-- KEYS: the first partition's seq (routes the call; the other keys are
--       not declared: they are in other slots of the same node, which the
--       allow-cross-slot-keys flag above permits in a cluster)
-- ARGV: at ms, maxlen, bitmap ttl ms, the job's actor, its lines'
--       idempotency key prefix, then per partition: its key prefix
--       ("<prefix>:{p17}:"), the job's line bitmap in it, its line count
--       n, then n lines of 8 values as stock_write_lines takes them.
-- A bulk job chunk's lines of SEVERAL partitions of one node in one
-- script: the lines of each partition exactly as stock_write_lines runs
-- them (write_lines.lua: same movements, one change log append and one
-- tail notification per partition, same line bits), so a chunk costs one
-- script and one node identity check per node instead of one per
-- partition. Every partition's epoch is checked before anything is
-- written: if any is not active on this node the script writes nothing
-- and answers {'fence', seqkey...} naming each such partition (the Go
-- side fences them and runs the call again).
-- Returns lines_reply over all its lines, in argument order.
local id = node_identity()
local groups = {}
local stale = {'fence'}
local i = 6
while i <= #ARGV do
  local part, n = ARGV[i], tonumber(ARGV[i + 2])
  local rec = redis.call('HMGET', part .. 'ep', 'e', 'id')
  if rec[2] ~= id then
    stale[#stale + 1] = part .. 'seq'
  end
  groups[#groups + 1] = {part = part, bits = ARGV[i + 1], n = n, from = i + 3, epoch = tonumber(rec[1])}
  i = i + 3 + n * 8
end
if #stale > 1 then
  return stale
end
local out = {f = {}, e = {}}
-- One wake-up of the tailers for every partition whose log grew: the
-- message lists their numbers, comma separated.
local grew, channel = {}, nil
for _, g in ipairs(groups) do
  EPOCH = g.epoch
  if write_lines(g.part .. 'seq', g.part .. 'log', g.bits, ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV, g.from, g.n, out, true) then
    local prefix, p = string.match(g.part, '^(.*):{p(%d+)}:$')
    if prefix then
      channel = prefix .. ':tail'
      grew[#grew + 1] = p
    end
  end
end
if channel then
  redis.call('PUBLISH', channel, table.concat(grew, ','))
end
return lines_reply(out)
