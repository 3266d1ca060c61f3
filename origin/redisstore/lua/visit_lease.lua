-- KEYS: link
-- ARGV: now ms, return id ("" = none), used, new id ("" = none), want,
--       divide, ttl ms, max leases
-- The escrow step of max_visits (see store.VisitLeaser): settle the
-- returned lease and every expired one (as fully used), then grant a
-- share of max_visits - used - leased. Leases are fields "L:<id>" =
-- "<n>:<expires ms>", used visits the field "vu". No version bump, no
-- change: redirects do not depend on the bookkeeping.
if redis.call('HEXISTS', KEYS[1], 'url') == 0 then
  return {'nf'}
end
local mv = redis.call('HGET', KEYS[1], 'mv')
if not mv then
  return {'unlimited'}
end
mv = tonumber(mv)
local now = tonumber(ARGV[1])
local retid, used_arg, newid = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local want, divide, ttl, maxleases = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local used = tonumber(redis.call('HGET', KEYS[1], 'vu')) or 0
local leased, count = 0, 0
local replay_n, replay_exp = nil, nil
local h = redis.call('HGETALL', KEYS[1])
for i = 1, #h, 2 do
  local f = h[i]
  if string.sub(f, 1, 2) == 'L:' then
    local id = string.sub(f, 3)
    local n, exp = string.match(h[i + 1], '^(%d+):(%d+)$')
    n, exp = tonumber(n), tonumber(exp)
    if newid ~= '' and id == newid and now < exp then
      replay_n, replay_exp = n, exp
      leased = leased + n
      count = count + 1
    elseif newid ~= '' and id == newid then
      used = used + n
      redis.call('HDEL', KEYS[1], f)
    elseif retid ~= '' and id == retid then
      used = used + math.min(used_arg, n)
      redis.call('HDEL', KEYS[1], f)
    elseif exp <= now then
      used = used + n
      redis.call('HDEL', KEYS[1], f)
    else
      leased = leased + n
      count = count + 1
    end
  end
end
redis.call('HSET', KEYS[1], 'vu', str(used))
local avail = math.max(mv - used - leased, 0)
if replay_n then
  return {'ok', replay_n, str(replay_exp), avail}
end
local g = 0
local exp = 0
if newid ~= '' and count < maxleases and avail > 0 and want > 0 then
  g = math.min(want, math.ceil(avail / divide), avail)
  exp = now + ttl
  redis.call('HSET', KEYS[1], 'L:' .. newid, str(g) .. ':' .. str(exp))
  avail = avail - g
end
return {'ok', g, str(exp), avail}
