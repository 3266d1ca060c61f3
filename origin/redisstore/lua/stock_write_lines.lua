-- KEYS: the partition's seq, log, and the job's line bitmap in it
-- ARGV: at ms, maxlen, bitmap ttl ms, the job's actor, its lines'
--       idempotency key prefix (a line's key, recorded on its movements,
--       is the prefix and the line number), then per line 8 values: line
--       number, op, warehouse, qty, to warehouse, sku, reason, ref
-- A bulk job's lines of one partition (write_lines.lua): one script call
-- and one fence check for many lines instead of one each.
-- Returns lines_reply: one letter per line ('o' applied, 'r' a replay,
-- 'e' refused) and, per refused line, its index, stock_apply tag and extra
-- value.
local out = {f = {}, e = {}}
write_lines(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV, 6, (#ARGV - 5) / 8, out)
return lines_reply(out)
