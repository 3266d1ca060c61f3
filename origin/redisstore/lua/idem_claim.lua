-- KEYS: claim (in the idempotency key's own partition)
-- ARGV: request fingerprint, ttl ms
-- Claims a stock write's idempotency key for one request (fingerprint) for
-- the TTL, so the same key sent for another SKU or another write is refused
-- even though that write runs in another slot. Returns {'ok'} | {'mismatch'}.
local fp = redis.call('HGET', KEYS[1], 'fp')
if fp then
  if fp ~= ARGV[1] then
    return {'mismatch'}
  end
  return {'ok'}
end
redis.call('HSET', KEYS[1], 'fp', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {'ok'}
