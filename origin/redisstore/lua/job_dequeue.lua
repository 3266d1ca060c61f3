-- KEYS: the job stream, its job -> entry ID hash (one hash tag)
-- ARGV: job ID, consumer group
-- Takes an ended job off the stream: acknowledged (out of whichever
-- consumer's pending list holds it) and deleted. Returns 1 if it was there.
local id = redis.call('HGET', KEYS[2], ARGV[1])
if not id then
  return 0
end
redis.pcall('XACK', KEYS[1], ARGV[2], id)
redis.call('XDEL', KEYS[1], id)
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
