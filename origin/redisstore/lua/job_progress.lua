-- KEYS: job hash, then the chunks just applied, in order (one or more)
-- ARGV: per chunk 5 values: chunk index applied, applied count, failed
--       count, errors (JSON, already merged with the chunks before it),
--       final status ('' while chunks remain)
-- Records each chunk's outcome in order, only while the cursor is still at
-- that chunk: a second worker that ran the same chunk (its lines replayed,
-- not re-applied) must not count it twice, and once the cursor has moved
-- past a chunk the rest are that worker's to record. Drops each chunk it
-- records. One call for a step's chunks is one write (one AOF flush and
-- fsync with appendfsync always) instead of one per chunk.
-- Returns {'ok', hash} | {'moved', hash}
local job = KEYS[1]
local x = tonumber(redis.call('HGET', job, 'x')) or -1
for i = 2, #KEYS do
  local a = (i - 2) * 5
  if x ~= tonumber(ARGV[a + 1]) then
    return {'moved', redis.call('HGETALL', job)}
  end
  redis.call('HINCRBY', job, 'ok', ARGV[a + 2])
  redis.call('HINCRBY', job, 'ko', ARGV[a + 3])
  x = x + 1
  redis.call('HSET', job, 'x', str(x), 'e', ARGV[a + 4])
  if ARGV[a + 5] ~= '' then
    redis.call('HSET', job, 'st', ARGV[a + 5])
  end
  redis.call('DEL', KEYS[i])
end
return {'ok', redis.call('HGETALL', job)}
