-- KEYS: stock, seq, log, reservation, holds[, idempotency record]
-- ARGV: change key, at ms, maxlen, warehouse ("" = pick), qty, id, sku,
--       expires s, expires ns, expires ms (holds score), created s,
--       created ns, request fingerprint, idempotency ttl ms, actor,
--       idempotency key
-- Returns {'ok', warehouse, version} | {'replay', id, reservation hash} |
--   {'insufficient', replayed 0/1} | {'nf'} | {'mismatch'} | {'gone', id} |
--   {'idtaken'}
local idem = KEYS[6]
local resprefix = string.sub(KEYS[4], 1, #KEYS[4] - #ARGV[6])

if idem then
  local rec = redis.call('HMGET', idem, 'fp', 'id')
  if rec[1] then
    if rec[1] ~= ARGV[13] then
      return {'mismatch'}
    end
    if rec[2] == '' then
      return {'insufficient', 1}
    end
    local res = redis.call('HGETALL', resprefix .. rec[2])
    if #res == 0 then
      return {'gone', rec[2]}
    end
    return {'replay', rec[2], res}
  end
end

-- A reservation ID is random (120 bits), so an existing one means this very
-- request already ran: a caller retrying with the same ID after a timeout
-- gets the first outcome instead of a second hold.
local prev = redis.call('HMGET', KEYS[4], 'sku', 'q')
if prev[1] then
  if prev[1] == ARGV[7] and prev[2] == ARGV[5] then
    return {'replay', ARGV[6], redis.call('HGETALL', KEYS[4])}
  end
  return {'idtaken'}
end

local qty = tonumber(ARGV[5])
local wh = ARGV[4]
local chosen
if wh ~= '' then
  local f = redis.call('HMGET', KEYS[1], 'v', 'h:' .. wh, 'r:' .. wh)
  if not f[1] then
    return {'nf'}
  end
  if f[2] and tonumber(f[2]) - (tonumber(f[3]) or 0) >= qty then
    chosen = wh
  end
else
  local h = redis.call('HGETALL', KEYS[1])
  if #h == 0 then
    return {'nf'}
  end
  local oh, rs = {}, {}
  for i = 1, #h, 2 do
    local p = string.sub(h[i], 1, 2)
    if p == 'h:' then
      oh[string.sub(h[i], 3)] = tonumber(h[i + 1])
    elseif p == 'r:' then
      rs[string.sub(h[i], 3)] = tonumber(h[i + 1])
    end
  end
  -- The warehouse with the most available among those that have enough;
  -- ties go to the smallest name.
  local best = -1
  for w, o in pairs(oh) do
    local a = o - (rs[w] or 0)
    if a >= qty and (a > best or (a == best and bytes_less(w, chosen))) then
      chosen, best = w, a
    end
  end
end

if not chosen then
  if idem then
    redis.call('HSET', idem, 'fp', ARGV[13], 'id', '')
    redis.call('PEXPIRE', idem, ARGV[14])
  end
  return {'insufficient', 0}
end

redis.call('HINCRBY', KEYS[1], 'r:' .. chosen, ARGV[5])
local v = next_field(KEYS[1], 'v')
local after = redis.call('HMGET', KEYS[1], 'h:' .. chosen, 'r:' .. chosen)
append_move(part_of(KEYS[2]), ARGV[7], chosen, 'hold', 0, qty,
  tonumber(after[1]), tonumber(after[2]), {'', ARGV[6], ARGV[15], ARGV[16]}, v, ARGV[2])
redis.call('HSET', KEYS[4], 'sku', ARGV[7], 'wh', chosen, 'q', ARGV[5],
  'st', 'held', 'es', ARGV[8], 'en', ARGV[9], 'cs', ARGV[11], 'cn', ARGV[12])
redis.call('ZADD', KEYS[5], ARGV[10], ARGV[6])
if idem then
  redis.call('HSET', idem, 'fp', ARGV[13], 'id', ARGV[6])
  redis.call('PEXPIRE', idem, ARGV[14])
end
append_change(KEYS[2], KEYS[3], ARGV[3], ARGV[1], v, ARGV[2])
return {'ok', chosen, v}
