package embedded

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// The file holds one top-level bucket per partition ("p00".."p1023" at 1024
// partitions) and a "meta" bucket with the format version and the partition
// count ("partitions", a decimal; absent in files created before the count
// was configurable, which have keys.LegacyPartitions). A partition bucket holds the
// partition's head seq (key "head") and these sub-buckets:
//
//	links     code -> linkRec (a link or its tombstone)
//	stock     sku -> stockRec
//	res       reservation id -> resRec
//	holds     timeKey(expires_at) id -> nothing: held reservations by expiry
//	settled   timeKey(settled at) id -> nothing: ended reservations by age
//	idem      sku 0x00 idempotency key -> idemRec
//	idemAge   timeKey(recorded at) sku 0x00 key -> nothing
//	log       big-endian seq -> change.Change in its wire form
//	moves     big-endian ledger seq -> moveRec: the stock ledger, never
//	          trimmed by the change log's cap, only by its own retention
//	          (ledgertrim.go)
//	skuMoves  sku 0x00 big-endian ledger seq -> nothing: a SKU's movements
//	tags      tag 0x00 code -> nothing: the live links of each tag, by code
//	          (listing and export by tag; the links bucket itself is the
//	          index by code)
//
// and "mhead", the partition's ledger head seq, and "mtrim", the seq it is
// trimmed up to (absent: never trimmed). The top-level "jobs"
// bucket holds the bulk job queue (jobs.go), and the top-level
// "ledgerTail" the movements not yet moved into their partition's moves
// and skuMoves (ledgertail.go): a write appends there, to one or two
// pages whatever partitions its commit touches.
//
// Everything a write touches is in its key's partition (a reservation ID
// names its SKU's partition), so the partitions mirror the Redis backend's
// hash tags, and a write never crosses partitions.
var (
	bucketMeta  = []byte("meta")
	keyFormat   = []byte("format")
	keyHead     = []byte("head")
	keyMoveHead = []byte("mhead")
	formatValue = []byte("shortstock-embedded-1")
	keyParts    = []byte("partitions")

	bucketLinks   = []byte("links")
	bucketStock   = []byte("stock")
	bucketRes     = []byte("res")
	bucketHolds   = []byte("holds")
	bucketSettled = []byte("settled")
	bucketIdem    = []byte("idem")
	bucketIdemAge = []byte("idemAge")
	bucketLog     = []byte("log")
	bucketMoves   = []byte("moves")
	bucketSKUMove = []byte("skuMoves")
	bucketTags    = []byte("tags")

	subBuckets = [][]byte{bucketLinks, bucketStock, bucketRes, bucketHolds, bucketSettled, bucketIdem, bucketIdemAge, bucketLog, bucketMoves, bucketSKUMove, bucketTags}

	// partitionNames holds the bucket names of the first
	// keys.DefaultPartitions partitions, so the common counts name a
	// partition without allocating.
	partitionNames = func() (n [keys.DefaultPartitions][]byte) {
		for p := range n {
			n[p] = fmt.Appendf(nil, "p%02d", p)
		}
		return n
	}()
)

// partitionName is the top-level bucket of partition p: "p%02d".
func partitionName(p int) []byte {
	if p >= 0 && p < len(partitionNames) {
		return partitionNames[p]
	}
	return fmt.Appendf(nil, "p%02d", p)
}

// part is one partition's buckets inside a transaction.
type part struct {
	p                                                     int
	root                                                  *bolt.Bucket
	links, stock, res, holds, settled, idem, idemAge, log *bolt.Bucket
	moves, skuMoves, tags                                 *bolt.Bucket
}

// partOf opens partition p's buckets in tx. A missing bucket means a
// damaged file: Open creates them all.
func partOf(tx *bolt.Tx, p int) (*part, error) { return partWith(tx, p, allSubs) }

// subSet names sub-buckets of a partition, for partWith.
type subSet uint16

const (
	subLinks subSet = 1 << iota
	subStock
	subRes
	subHolds
	subSettled
	subIdem
	subIdemAge
	subLog
	subMoves
	subSKUMoves
	subTags

	allSubs = subTags<<1 - 1
)

// partWith opens partition p's root and the sub-buckets in need; the
// others stay nil. Opening a bucket costs a cursor seek and, in a write
// transaction, three allocations: a hot write that opens only what it
// touches (a stock write: stock and log) saves most of partOf's cost
// (11 % of a synchronous adjust's CPU, measured).
func partWith(tx *bolt.Tx, p int, need subSet) (*part, error) {
	root := tx.Bucket(partitionName(p))
	if root == nil {
		return nil, fmt.Errorf("%w: partition bucket %s missing", errCorrupt, partitionName(p))
	}
	pt := &part{p: p, root: root}
	for _, b := range []struct {
		bit  subSet
		name []byte
		dst  **bolt.Bucket
	}{
		{subLinks, bucketLinks, &pt.links}, {subStock, bucketStock, &pt.stock}, {subRes, bucketRes, &pt.res},
		{subHolds, bucketHolds, &pt.holds}, {subSettled, bucketSettled, &pt.settled}, {subIdem, bucketIdem, &pt.idem},
		{subIdemAge, bucketIdemAge, &pt.idemAge}, {subLog, bucketLog, &pt.log}, {subMoves, bucketMoves, &pt.moves},
		{subSKUMoves, bucketSKUMove, &pt.skuMoves}, {subTags, bucketTags, &pt.tags},
	} {
		if need&b.bit == 0 {
			continue
		}
		if *b.dst = root.Bucket(b.name); *b.dst == nil {
			return nil, fmt.Errorf("%w: bucket %s/%s missing", errCorrupt, partitionName(p), b.name)
		}
	}
	return pt, nil
}

// logPartOf opens partition p with only its root and change log set (head,
// first and the log's entries): a tailer reads a partition after every
// write, and partOf would open all eleven buckets for it.
func logPartOf(tx *bolt.Tx, p int) (*part, error) { return partWith(tx, p, subLog) }

// subOf opens one sub-bucket of partition p, for reads that need only it.
func subOf(tx *bolt.Tx, p int, name []byte) (*bolt.Bucket, error) {
	if root := tx.Bucket(partitionName(p)); root != nil {
		if b := root.Bucket(name); b != nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%w: bucket %s/%s missing", errCorrupt, partitionName(p), name)
}

// timeKeyLen is the length of a timeKey.
const timeKeyLen = 12

// appendTimeKey appends t in a form whose byte order is time order: the
// seconds with the sign bit flipped (so negative ones sort first), then the
// nanoseconds, both big-endian.
func appendTimeKey(b []byte, t time.Time) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(t.Unix())^(1<<63))
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

// parseTimeKey reads the time at the front of an index key.
func parseTimeKey(k []byte) (time.Time, []byte, error) {
	if len(k) < timeKeyLen {
		return time.Time{}, nil, fmt.Errorf("%w: index key of %d bytes", errCorrupt, len(k))
	}
	ns := binary.BigEndian.Uint32(k[8:12])
	if ns >= 1e9 {
		return time.Time{}, nil, fmt.Errorf("%w: index key nanoseconds %d", errCorrupt, ns)
	}
	sec := int64(binary.BigEndian.Uint64(k[:8]) ^ (1 << 63))
	return time.Unix(sec, int64(ns)).UTC(), k[timeKeyLen:], nil
}

// holdKey indexes a held reservation by its expiry.
func holdKey(expires time.Time, id string) []byte {
	return append(appendTimeKey(make([]byte, 0, timeKeyLen+len(id)), expires), id...)
}

// idemKey is the idempotency record's key: a key is scoped to its SKU.
// SKUs never contain 0x00.
func idemKey(sku, key string) []byte {
	b := make([]byte, 0, len(sku)+1+len(key))
	b = append(b, sku...)
	b = append(b, 0)
	return append(b, key...)
}

// tagKey is a tags index key. Tags never contain 0x00.
func tagKey(tag, code string) []byte {
	b := make([]byte, 0, len(tag)+1+len(code))
	b = append(b, tag...)
	b = append(b, 0)
	return append(b, code...)
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// head returns the partition's head seq (0 before the first change).
func (pt *part) head() (uint64, error) {
	v := pt.root.Get(keyHead)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: head of partition %d", errCorrupt, pt.p)
	}
	return binary.BigEndian.Uint64(v), nil
}

// first returns the oldest retained seq, 0 when the log is empty.
func (pt *part) first() (uint64, error) {
	k, _ := pt.log.Cursor().First()
	if k == nil {
		return 0, nil
	}
	if len(k) != 8 {
		return 0, fmt.Errorf("%w: log key of %d bytes in partition %d", errCorrupt, len(k), pt.p)
	}
	return binary.BigEndian.Uint64(k), nil
}

// createLayout makes every bucket of a store of want partitions and checks
// or writes the format and the partition count. It is idempotent, so opening
// an existing file runs it too; a file recording another count fails with
// store.ErrPartitionMismatch.
func createLayout(tx *bolt.Tx, want int) error {
	fresh := tx.Bucket(bucketMeta) == nil
	if fresh {
		// A file without our meta bucket is either new or someone else's.
		err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			return fmt.Errorf("embedded: the file is not a shortstock database (it has a bucket %q)", name)
		})
		if err != nil {
			return err
		}
	}
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	switch f := meta.Get(keyFormat); {
	case f == nil:
		if err := meta.Put(keyFormat, formatValue); err != nil {
			return err
		}
	case string(f) != string(formatValue):
		return fmt.Errorf("embedded: the database has format %q; this version reads %q", f, formatValue)
	}
	n := want
	switch v := meta.Get(keyParts); {
	case v == nil:
		if !fresh {
			n = keys.LegacyPartitions // data from before the count was recorded
		}
		if err := meta.Put(keyParts, strconv.AppendInt(nil, int64(n), 10)); err != nil {
			return err
		}
	default:
		got, err := strconv.Atoi(string(v))
		if err != nil || keys.ValidPartitions(got) != nil {
			return fmt.Errorf("%w: meta partitions %q", errCorrupt, v)
		}
		n = got
	}
	if n != want {
		return &store.PartitionMismatchError{Stored: n, Configured: want}
	}
	if err := createJobsLayout(tx); err != nil {
		return err
	}
	if _, err := tx.CreateBucketIfNotExists(bucketLedgerTail); err != nil {
		return err
	}
	for p := range n {
		root, err := tx.CreateBucketIfNotExists(partitionName(p))
		if err != nil {
			return err
		}
		for _, sub := range subBuckets {
			if _, err := root.CreateBucketIfNotExists(sub); err != nil {
				return err
			}
		}
	}
	return nil
}
