package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/origin/store"
)

// Ledger retention. A partition's ledger is trimmed from the front, in seq
// order, up to "mtrim" (the root key holding the seq of the last trimmed
// movement): every trimmed movement is deleted, except each warehouse's
// last one, which is rewritten in place as its opening balance
// (store.KindOpening, same seq) and replaces the warehouse's previous
// opening. Openings therefore sit below mtrim, retained movements above
// it, and a SKU's ledger (the skuMoves index) still replays to its view.
// The feed starts above mtrim: openings are not movements a reader has
// not seen, only the balance the retained ledger starts from.

// keyMoveTrim is the partition root's key of the last trimmed ledger seq.
var keyMoveTrim = []byte("mtrim")

// trimmedThrough returns the seq the partition's ledger is trimmed up to.
func trimmedThrough(root *bolt.Bucket, p int) (uint64, error) {
	v := root.Get(keyMoveTrim)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: ledger trim mark of partition %d", errCorrupt, p)
	}
	return binary.BigEndian.Uint64(v), nil
}

// TrimLedger trims movements older than before, up to max of them (each
// deleted or turned into an opening), partition by partition, one write
// transaction per partition.
func (s *Store) TrimLedger(ctx context.Context, before time.Time, max int) (int, error) {
	if max <= 0 || max > store.MaxTrimBatch {
		return 0, fmt.Errorf("embedded: trim ledger: %w: max %d (1..%d)", store.ErrInvalid, max, store.MaxTrimBatch)
	}
	// The trim reads the trees: the tail's movements (the newest, written
	// within LedgerIndexInterval) go there first, or a cutoff that recent
	// would skip them.
	if empty, err := s.tailEmpty(ctx); err != nil {
		return 0, err
	} else if !empty {
		if err := s.indexLedger(ctx); err != nil {
			return 0, err
		}
	}
	total := 0
	for p := 0; p < s.space.N() && total < max; p++ {
		if err := s.begin(ctx, "trim ledger"); err != nil {
			return total, err
		}
		var n int
		err := s.db.Update(func(tx *bolt.Tx) error {
			pt, err := partOf(tx, p)
			if err != nil {
				return err
			}
			n, err = trimPartitionLedger(pt, before, max-total)
			return err
		})
		if err != nil {
			return total, s.storageErr("trim ledger", err)
		}
		total += n
	}
	return total, nil
}

// trimItem is one movement being trimmed.
type trimItem struct {
	seq uint64
	rec moveRec
}

// trimPartitionLedger trims up to limit movements older than before from
// the front of one partition's ledger.
func trimPartitionLedger(pt *part, before time.Time, limit int) (int, error) {
	trimmed, err := trimmedThrough(pt.root, pt.p)
	if err != nil {
		return 0, err
	}
	var batch []trimItem
	c := pt.moves.Cursor()
	for k, v := c.Seek(seqKey(trimmed + 1)); k != nil && len(batch) < limit; k, v = c.Next() {
		if len(k) != 8 {
			return 0, fmt.Errorf("%w: ledger key of %d bytes in partition %d", errCorrupt, len(k), pt.p)
		}
		rec, err := decodeMove(v)
		if err != nil {
			return 0, fmt.Errorf("movement %x: %w", k, err)
		}
		if !rec.at.Before(before) {
			break // the ledger is in seq order, and seq order is time order
		}
		batch = append(batch, trimItem{binary.BigEndian.Uint64(k), rec})
	}
	if len(batch) == 0 {
		return 0, nil
	}
	// Each warehouse's last trimmed movement becomes its opening.
	last := make(map[string]int, len(batch))
	for i, it := range batch {
		last[it.rec.sku+"\x00"+it.rec.warehouse] = i
	}
	for i, it := range batch {
		if last[it.rec.sku+"\x00"+it.rec.warehouse] != i {
			if err := deleteMove(pt, it.rec.sku, it.seq); err != nil {
				return 0, err
			}
			continue
		}
		old, err := openingSeq(pt, it.rec.sku, it.rec.warehouse, trimmed)
		if err != nil {
			return 0, err
		}
		if old != 0 {
			if err := deleteMove(pt, it.rec.sku, old); err != nil {
				return 0, err
			}
		}
		r := it.rec
		r.kind, r.dOnHand, r.dReserved = store.KindOpening, r.onHand, r.reserved
		r.reason, r.ref, r.actor, r.ik = "", "", "", ""
		if err := pt.moves.Put(seqKey(it.seq), r.encode()); err != nil {
			return 0, err
		}
	}
	return len(batch), pt.root.Put(keyMoveTrim, seqKey(batch[len(batch)-1].seq))
}

// deleteMove removes one movement and its SKU index entry.
func deleteMove(pt *part, sku string, seq uint64) error {
	if err := pt.moves.Delete(seqKey(seq)); err != nil {
		return err
	}
	return pt.skuMoves.Delete(skuMoveKey(sku, seq))
}

// openingSeq finds a warehouse's opening among the SKU's movements at or
// below trimmed (only openings live there: a few per SKU, one per
// warehouse), 0 if it has none yet.
func openingSeq(pt *part, sku, warehouse string, trimmed uint64) (uint64, error) {
	prefix := skuMoveKey(sku, 0)
	prefix = prefix[:len(prefix)-8]
	c := pt.skuMoves.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, _ = c.Next() {
		seq := binary.BigEndian.Uint64(k[len(prefix):])
		if seq > trimmed {
			break
		}
		v := pt.moves.Get(seqKey(seq))
		if v == nil {
			return 0, fmt.Errorf("%w: movement %d of %s indexed but missing", errCorrupt, seq, sku)
		}
		rec, err := decodeMove(v)
		if err != nil {
			return 0, fmt.Errorf("movement %d: %w", seq, err)
		}
		if rec.warehouse == warehouse {
			return seq, nil
		}
	}
	return 0, nil
}
