-- KEYS: the partition's seq, log, and the job's line bitmap in it
-- ARGV: at ms, maxlen, bitmap ttl ms, then per line 11 values: line
--       number, op, warehouse, qty, to warehouse, sku, change key, reason,
--       ref, actor, idempotency key (the line's derived one, recorded on
--       its movements)
-- A bulk job's lines of one partition (write_lines.lua): one script call
-- and one fence check for many lines instead of one each.
-- Returns {'ok', tag1, x1, tag2, x2, ...}: per line its stock_apply tag
-- (or 'replay') and its extra value (0 when none).
local out = {'ok'}
write_lines(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV, 4, (#ARGV - 3) / 11, out)
return out
