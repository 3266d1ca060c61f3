-- KEYS: job hash, the chunk just applied
-- ARGV: chunk index applied, applied count, failed count, errors (JSON,
--       already merged), final status ('' while chunks remain)
-- Records a chunk's outcome, only if the cursor is still at that chunk: a
-- second worker that ran the same chunk (its lines replayed, not
-- re-applied) must not count it twice. Drops the chunk.
-- Returns {'ok', hash} | {'moved', hash}
local job = KEYS[1]
local x = tonumber(redis.call('HGET', job, 'x')) or -1
if x ~= tonumber(ARGV[1]) then
  return {'moved', redis.call('HGETALL', job)}
end
redis.call('HINCRBY', job, 'ok', ARGV[2])
redis.call('HINCRBY', job, 'ko', ARGV[3])
redis.call('HSET', job, 'x', str(x + 1), 'e', ARGV[4])
if ARGV[5] ~= '' then
  redis.call('HSET', job, 'st', ARGV[5])
end
redis.call('DEL', KEYS[2])
return {'ok', redis.call('HGETALL', job)}
