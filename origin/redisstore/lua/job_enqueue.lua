-- KEYS: the job stream, its job -> entry ID hash (one hash tag)
-- ARGV: job ID, consumer group
-- Queues a job once: a job already in the stream keeps its entry. The
-- group is made with the stream (from ID 0, so it sees every entry).
-- Returns {'ok', entry ID}.
redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[2], '0', 'MKSTREAM')
local have = redis.call('HGET', KEYS[2], ARGV[1])
if have then
  return {'ok', have}
end
local id = redis.call('XADD', KEYS[1], '*', 'job', ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], id)
return {'ok', id}
