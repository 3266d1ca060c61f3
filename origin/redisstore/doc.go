// Package redisstore is the origin's storage on Redis or Redis Cluster
// (github.com/redis/go-redis/v9): one address is a standalone server,
// several are cluster seeds.
//
// Every key of a partition (Config.Partitions of them, recorded in
// "<prefix>:meta") carries the hash tag
// {p<n>}, so Redis Cluster keeps a partition on one slot and moves it
// whole. Every write is one Lua script that checks, applies, bumps the
// key's version, increments the partition's seq and appends the change to
// the partition's stream, atomically; a reservation ID carries its SKU's
// partition, so no operation ever touches two partitions. See keyspace for
// the key layout and lua/ for the scripts.
//
// Scripts run with EVALSHA and fall back to EVAL on NOSCRIPT (after SCRIPT
// FLUSH, a restart or a failover). Writes are sent at most once: go-redis'
// automatic retries would risk applying a write twice when its reply was
// lost, so such a write reports store.ErrUnavailable with its outcome
// unknown. Retrying is safe where the contract makes it so: Reserve with the
// same ID or idempotency key returns the first outcome.
//
// Times come from the callers (ReserveRequest.Now, the now of Commit and
// ExpireHolds, Config.Clock otherwise), never from Redis' TIME, so tests and
// several origins agree on them.
package redisstore
