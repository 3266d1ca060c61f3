-- KEYS: job hash
-- ARGV: owner, now ms, lease ms, kind the caller runs ('' for stock)
-- Takes or renews the job's lease for owner, unless the job ended, is of
-- another kind (a caller that cannot run it must not hold its lease), or
-- another owner's lease has not expired. An owner whose running lease
-- still has half its length left keeps it as it is: the claim then writes
-- nothing, so a step of a job costs no AOF flush (and, with appendfsync
-- always, no fsync) for its claim.
-- Returns {'nf'} | {'ended', hash} | {'kind', hash} | {'leased', hash} | {'ok', hash}
local job = KEYS[1]
local st = redis.call('HGET', job, 'st')
if not st then
  return {'nf'}
end
if st == 'done' or st == 'failed' then
  return {'ended', redis.call('HGETALL', job)}
end
if (redis.call('HGET', job, 'k') or '') ~= ARGV[4] then
  return {'kind', redis.call('HGETALL', job)}
end
local o = redis.call('HGET', job, 'o')
local lu = tonumber(redis.call('HGET', job, 'lu')) or 0
if o and o ~= '' and o ~= ARGV[1] and lu > tonumber(ARGV[2]) then
  return {'leased', redis.call('HGETALL', job)}
end
local now, lease = tonumber(ARGV[2]), tonumber(ARGV[3])
if o == ARGV[1] and st == 'running' and lu >= now + lease / 2 then
  return {'ok', redis.call('HGETALL', job)}
end
redis.call('HSET', job, 'o', ARGV[1], 'lu', str(tonumber(ARGV[2]) + tonumber(ARGV[3])), 'st', 'running')
return {'ok', redis.call('HGETALL', job)}
