-- KEYS: job hash
-- ARGV: field, value, ... (the job's initial state)
-- Creates the job hash unless it exists. Its chunks (same hash tag) are
-- written before, its pending entry after.
-- Returns {'ok'} | {'exists'}
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'exists'}
end
redis.call('HSET', KEYS[1], unpack(ARGV))
return {'ok'}
