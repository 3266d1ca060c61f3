-- KEYS: the partition's seq, log, and the job's line bitmap in it
-- ARGV: at ms, maxlen, bitmap ttl ms, the job's actor, its lines'
--       idempotency key prefix (a line's key, recorded on its movements,
--       is the prefix and the line number), then per line 8 values: line
--       number, op, warehouse, qty, to warehouse, sku, reason, ref
-- A bulk job's lines of one partition (write_lines.lua): one script call
-- and one fence check for many lines instead of one each.
-- Returns {'ok', tag1, x1, tag2, x2, ...}: per line its stock_apply tag
-- (or 'replay') and its extra value (0 when none).
local out = {'ok'}
write_lines(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV, 6, (#ARGV - 5) / 8, out)
return out
