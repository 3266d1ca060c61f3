package redisstore

import (
	"strconv"

	"github.com/shortstock/shortstock/internal/keys"
)

// keyspace builds the Redis keys of one deployment. Every key of partition
// p starts with "<prefix>:{p<p>}:", so Redis Cluster puts the whole
// partition in one slot and one script can touch all of it:
//
//	<prefix>:{p17}:l:<code>          link hash (v, url, rd, exp, ct, clk; a tombstone keeps v only)
//	<prefix>:{p17}:s:<sku>           stock hash (v, h:<warehouse> on hand, r:<warehouse> reserved)
//	<prefix>:{p17}:r:<id>            reservation hash (sku, wh, q, st, es/en expiry, cs/cn created)
//	<prefix>:{p17}:idem:<len>:<sku>:<key>  idempotency record (fp, id), expires after IdempotencyTTL
//	<prefix>:{p17}:holds             ZSET of held reservation IDs by expiry (unix ms)
//	<prefix>:{p17}:seq               the partition's change counter
//	<prefix>:{p17}:log               the partition's change stream, entry ID "<seq>-0"
//	<prefix>:{p17}:ik:<key>          a stock write's idempotency claim (fp), in the key's partition
//	<prefix>:{p17}:widem:<len>:<sku>:<key>  a stock write's recorded outcome (_fp and the stock hash after it)
//	<prefix>:{p17}:mseq              the partition's ledger counter
//	<prefix>:{p17}:ms:<sku>          a SKU's movements (stream, entry ID "<ledger seq>-0"), trimmed only by ledger retention
//	<prefix>:{p17}:mlog              the partition's ledger order (stream of sku names, same IDs), trimmed likewise
//	<prefix>:{p17}:mo:<sku>          the SKU's opening balances where its trimmed ledger ends (hash: warehouse -> "seq:on_hand:reserved:version:at ms")
//	<prefix>:{p17}:codes             ZSET (score 0, by lex) of the partition's live link codes: the listing index
//	<prefix>:{p17}:tag:<tag>         ZSET (score 0, by lex) of the live codes with that tag
//
// plus <prefix>:meta, a hash whose "partitions" field is the store's
// partition count (partitions.go).
//
// Bulk jobs (jobs.go) have their own hash tag per job, plus one queue key
// and a line bitmap per (partition, job):
//
//	<prefix>:{j<id>}:job             job hash (st, n, ok, ko, e, a, ct, c, x, o, lu)
//	<prefix>:{j<id>}:c:<i>           chunk i of the job's lines (store.EncodeJobChunk)
//	<prefix>:{jq}:stream             Redis Stream of queued jobs (field job = ID), consumer group "workers" (jobqueue.go)
//	<prefix>:{jq}:sids               hash: job ID -> its stream entry ID
//	<prefix>:jobs                    ZSET of pending job IDs: the queue before the stream, drained into it
//	<prefix>:{p17}:jb:<id>           bitmap of the job's lines applied in this partition
type keyspace struct {
	prefix string
	part   []string // "<prefix>:{p17}:", one per partition
}

func newKeyspace(prefix string, sp keys.Space) *keyspace {
	ks := &keyspace{prefix: prefix, part: make([]string, sp.N())}
	for p := range ks.part {
		ks.part[p] = prefix + ":{p" + strconv.Itoa(p) + "}:"
	}
	return ks
}

func (k *keyspace) link(p int, code string) string      { return k.part[p] + "l:" + code }
func (k *keyspace) stock(p int, sku string) string      { return k.part[p] + "s:" + sku }
func (k *keyspace) stockPrefix(p int) string            { return k.part[p] + "s:" }
func (k *keyspace) reservation(p int, id string) string { return k.part[p] + "r:" + id }
func (k *keyspace) reservationPrefix(p int) string      { return k.part[p] + "r:" }
func (k *keyspace) holds(p int) string                  { return k.part[p] + "holds" }
func (k *keyspace) seq(p int) string                    { return k.part[p] + "seq" }
func (k *keyspace) log(p int) string                    { return k.part[p] + "log" }
func (k *keyspace) idemClaim(p int, key string) string  { return k.part[p] + "ik:" + key }
func (k *keyspace) stockIdem(p int, sku, key string) string {
	return k.part[p] + "widem:" + strconv.Itoa(len(sku)) + ":" + sku + ":" + key
}
func (k *keyspace) moves(p int, sku string) string { return k.part[p] + "ms:" + sku }
func (k *keyspace) moveSeq(p int) string           { return k.part[p] + "mseq" }
func (k *keyspace) moveLog(p int) string           { return k.part[p] + "mlog" }
func (k *keyspace) openings(p int, sku string) string {
	return k.part[p] + "mo:" + sku
}
func (k *keyspace) codes(p int) string           { return k.part[p] + "codes" }
func (k *keyspace) tag(p int, tag string) string { return k.part[p] + "tag:" + tag }

// idem is the idempotency record of (sku, key). The SKU's length comes
// first because SKUs and keys may both contain ':' ("a:b"+"c" must not meet
// "a"+"b:c"). The key may hold any printable ASCII, braces included: only
// the first {...} of a Redis key is its hash tag, and the partition's comes
// first.
func (k *keyspace) idem(p int, sku, key string) string {
	return k.part[p] + "idem:" + strconv.Itoa(len(sku)) + ":" + sku + ":" + key
}

// meta is the store's metadata hash ("partitions": the partition count).
// It has no partition tag: one key, in one slot.
func (k *keyspace) meta() string { return k.prefix + ":meta" }

func (k *keyspace) job(id string) string { return k.prefix + ":{j" + id + "}:job" }
func (k *keyspace) jobChunk(id string, i int) string {
	return k.prefix + ":{j" + id + "}:c:" + strconv.Itoa(i)
}
func (k *keyspace) jobQueue() string                { return k.prefix + ":jobs" }
func (k *keyspace) jobStream() string               { return k.prefix + ":{jq}:stream" }
func (k *keyspace) jobStreamIDs() string            { return k.prefix + ":{jq}:sids" }
func (k *keyspace) jobBits(p int, id string) string { return k.part[p] + "jb:" + id }
