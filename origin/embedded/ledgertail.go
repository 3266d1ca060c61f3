package embedded

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The ledger's tail. A movement belongs in two trees of its partition:
// moves (by seq) and skuMoves (by SKU, then seq). Written there by each
// write, a group commit of adjusts to 64 SKUs rewrote the last leaf and a
// branch of both trees in nearly every partition it touched: about 4.6
// more 4 KiB pages per adjust, and 36-70 % fewer adjusts a second
// (docs/inventory.md, "Measured"). So a write appends its movements to
// one store-wide bucket, keyed by a store-wide sequence: a commit's
// movements land on one or two pages whatever their partitions. The
// indexer (ledgerIndexLoop) moves them into the partitions' trees
// LedgerIndexInterval after a write wakes it, many per tree page, in one
// transaction that also deletes them from the tail: a movement is always in exactly one of the
// two places, each crash-safe.
//
// Readers look in both: a partition's movements in the tail all have
// higher seqs than the ones in its trees (the indexer moves the tail in
// order, whole), so a reader reads the tree and then the tail's entries of
// that partition, in order. The tail is short (what was written since the
// last index pass), so scanning it is cheap.

// bucketLedgerTail is the top-level bucket of the tail: big-endian tail
// sequence -> partition (4 bytes, big-endian), the movement's seq in its
// partition (8 bytes), then the encoded moveRec.
var bucketLedgerTail = []byte("ledgerTail")

// tailHeader is the length of a tail value's partition and seq.
const tailHeader = 12

// indexBatch bounds the movements one index transaction moves.
const indexBatch = 16384

// tailBucket is the tail's bucket in tx.
func tailBucket(tx *bolt.Tx) (*bolt.Bucket, error) {
	tail := tx.Bucket(bucketLedgerTail)
	if tail == nil {
		return nil, fmt.Errorf("%w: bucket %s missing", errCorrupt, bucketLedgerTail)
	}
	return tail, nil
}

// appendTail adds one movement of pt, numbered seq, to the tail.
func appendTail(pt *part, seq uint64, rec []byte) error {
	tail, err := tailBucket(pt.root.Tx())
	if err != nil {
		return err
	}
	tail.FillPercent = 1 // append-only: fill each page
	n, err := tail.NextSequence()
	if err != nil {
		return err
	}
	v := make([]byte, tailHeader, tailHeader+len(rec))
	binary.BigEndian.PutUint32(v, uint32(pt.p))
	binary.BigEndian.PutUint64(v[4:], seq)
	return tail.Put(seqKey(n), append(v, rec...))
}

// tailEntry is one movement in the tail.
type tailEntry struct {
	key []byte // its key in the tail
	p   int
	seq uint64
	rec []byte // the encoded moveRec
}

// forTail calls fn for each movement in the tail, oldest first, while fn
// returns true. partition >= 0 skips the other partitions' movements. The
// entry's slices are valid for the transaction only.
func forTail(tx *bolt.Tx, partition int, fn func(tailEntry) (bool, error)) error {
	tail, err := tailBucket(tx)
	if err != nil {
		return err
	}
	c := tail.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != 8 || len(v) < tailHeader {
			return fmt.Errorf("%w: ledger tail entry %x of %d bytes", errCorrupt, k, len(v))
		}
		p := int(binary.BigEndian.Uint32(v))
		if partition >= 0 && p != partition {
			continue
		}
		more, err := fn(tailEntry{key: k, p: p, seq: binary.BigEndian.Uint64(v[4:]), rec: v[tailHeader:]})
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// indexTail moves up to indexBatch movements from the tail into their
// partitions' trees, oldest first, and reports whether any are left.
func indexTail(tx *bolt.Tx) (more bool, err error) {
	parts := map[int]*part{}
	var done [][]byte
	err = forTail(tx, -1, func(e tailEntry) (bool, error) {
		if len(done) == indexBatch {
			more = true
			return false, nil
		}
		pt := parts[e.p]
		if pt == nil {
			var err error
			if pt, err = partWith(tx, e.p, subMoves|subSKUMoves); err != nil {
				return false, err
			}
			parts[e.p] = pt
		}
		sku, err := moveSKU(e.rec)
		if err != nil {
			return false, fmt.Errorf("ledger tail movement %d of partition %d: %w", e.seq, e.p, err)
		}
		// Copies: the tail's pages are freed by this transaction.
		if err := pt.moves.Put(seqKey(e.seq), append([]byte(nil), e.rec...)); err != nil {
			return false, err
		}
		if err := pt.skuMoves.Put(skuMoveKey(sku, e.seq), nil); err != nil {
			return false, err
		}
		done = append(done, append([]byte(nil), e.key...))
		return true, nil
	})
	if err != nil {
		return false, err
	}
	if !more {
		// All of it: a fresh bucket frees the pages at once.
		if err := tx.DeleteBucket(bucketLedgerTail); err != nil {
			return false, err
		}
		_, err := tx.CreateBucket(bucketLedgerTail)
		return false, err
	}
	tail, err := tailBucket(tx)
	if err != nil {
		return false, err
	}
	for _, k := range done {
		if err := tail.Delete(k); err != nil {
			return false, err
		}
	}
	return true, nil
}

// indexLedger runs index transactions of up to indexBatch movements until
// the tail is empty.
func (s *Store) indexLedger(ctx context.Context) error {
	for {
		var more bool
		err := s.write(ctx, "index ledger", func(tx *bolt.Tx) error {
			var err error
			more, err = indexTail(tx)
			return err
		})
		if err != nil || !more {
			return err
		}
	}
}

// tailEmpty reports whether the tail holds nothing, from a read
// transaction.
func (s *Store) tailEmpty(ctx context.Context) (bool, error) {
	empty := true
	err := s.view(ctx, "ledger tail", func(tx *bolt.Tx) error {
		tail, err := tailBucket(tx)
		if err != nil {
			return err
		}
		k, _ := tail.Cursor().First()
		empty = k == nil
		return nil
	})
	return empty, err
}

// kickIndexer tells the ledger indexer the tail has grown. Sent from
// inside the write's transaction, before its commit: the indexer waits
// LedgerIndexInterval and then needs the writer lock, which that commit
// holds until it is done, so it sees the movement (a transaction rolled
// back and rerun by the batch kicks again).
func (s *Store) kickIndexer() {
	select {
	case s.tailKick <- struct{}{}:
	default:
	}
}

// tailGrew counts n movements appended to the tail and starts an index
// pass at once when LedgerIndexTail of them have been appended since the
// last pass began. Like kickIndexer it is called inside the write's
// transaction: the pass needs the writer lock, so it runs after that
// commit and sees the movements (a transaction rerun by the batch counts
// them twice, which only starts a pass a little early).
func (s *Store) tailGrew(n int) {
	if s.tailAppended.Add(int64(n)) < int64(s.cfg.LedgerIndexTail) {
		return
	}
	select {
	case s.tailFull <- struct{}{}:
	default:
	}
}

// ledgerIndexLoop moves the tail into the trees: woken by a write that
// appended to it, it waits LedgerIndexInterval (so one pass moves what
// many writes appended), or less when the tail reaches LedgerIndexTail,
// and then indexes the whole tail, joining the writes' group commits
// (s.write). An idle store never wakes it.
func (s *Store) ledgerIndexLoop() {
	defer s.wg.Done()
	ctx := s.ctx
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	defer wait.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.tailKick:
		}
		wait.Reset(s.cfg.LedgerIndexInterval)
		select {
		case <-s.stop:
			return
		case <-wait.C:
		case <-s.tailFull:
			wait.Stop()
		}
		// Counted from here: what this pass moves is not the next one's.
		s.tailAppended.Store(0)
		empty, err := s.tailEmpty(ctx)
		if err == nil && !empty {
			err = s.indexLedger(ctx)
		}
		if err != nil && ctx.Err() == nil && !s.closed.Load() {
			// What is left waits for the next write's kick; readers see
			// it in the tail meanwhile.
			s.cfg.Logger.Warn("embedded store: indexing the ledger failed", "err", err)
		}
	}
}
