package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// moveMeta is what a write tells the ledger about itself, shared by its
// movements.
type moveMeta struct {
	reason, ref, actor, ik string
}

// whMove is one warehouse's change in a write.
type whMove struct {
	warehouse string
	kind      string
	dOnHand   int64
	dReserved int64
}

// moveKindNames are the kinds a stored movement may have.
var moveKindNames = map[string]bool{
	store.KindSet: true, store.KindAdjust: true, store.KindTransferOut: true, store.KindTransferIn: true,
	store.KindHold: true, store.KindCommit: true, store.KindRelease: true, store.KindExpire: true,
	store.KindOpening: true,
}

// moveRec is a stored movement. The partition and seq are its key.
type moveRec struct {
	sku, warehouse, kind   string
	dOnHand, dReserved     int64
	onHand, reserved       int64
	reason, ref, actor, ik string
	version                uint64
	at                     time.Time
}

func (r *moveRec) encode() []byte {
	e := enc{b: make([]byte, 0, 40+len(r.sku)+len(r.warehouse)+len(r.kind)+len(r.reason)+len(r.ref)+len(r.actor)+len(r.ik))}
	e.byte(recordFormat)
	e.str(r.sku)
	e.str(r.warehouse)
	e.str(r.kind)
	e.varint(r.dOnHand)
	e.varint(r.dReserved)
	e.uvarint(uint64(r.onHand))
	e.uvarint(uint64(r.reserved))
	e.str(r.reason)
	e.str(r.ref)
	e.str(r.actor)
	e.str(r.ik)
	e.uvarint(r.version)
	e.time(r.at)
	return e.b
}

func decodeMove(b []byte) (moveRec, error) {
	var r moveRec
	d := dec{b: b}
	if d.byte("movement format") != recordFormat {
		d.fail("movement format")
	}
	r.sku = d.str("movement sku", keys.MaxIDLen)
	r.warehouse = d.str("movement warehouse", keys.MaxIDLen)
	r.kind = d.str("movement kind", 16)
	r.dOnHand = d.varint("movement delta on hand")
	r.dReserved = d.varint("movement delta reserved")
	r.onHand = d.count("movement on hand")
	r.reserved = d.count("movement reserved")
	r.reason = d.str("movement reason", 32)
	r.ref = d.str("movement ref", store.MaxRefLen)
	r.actor = d.str("movement actor", store.MaxRefLen)
	r.ik = d.str("movement idempotency key", 255)
	r.version = d.uvarint("movement version")
	r.at = d.time("movement at")
	if d.err == nil && (!keys.ValidSKU(r.sku) || !keys.ValidWarehouse(r.warehouse) || !moveKindNames[r.kind] ||
		r.reserved > r.onHand || r.version == 0 || !store.ValidReason(r.reason)) {
		d.fail("movement fields")
	}
	if err := d.done("movement"); err != nil {
		return moveRec{}, err
	}
	return r, nil
}

// moveSKU returns the SKU of an encoded movement without decoding the
// rest (the ledger indexer needs only that to index it; readers decode
// and check the whole record). The slice points into b.
func moveSKU(b []byte) ([]byte, error) {
	if len(b) < 2 || b[0] != recordFormat {
		return nil, fmt.Errorf("%w: movement format", errCorrupt)
	}
	n, w := binary.Uvarint(b[1:])
	if w <= 0 || n > uint64(keys.MaxIDLen) || n > uint64(len(b)-1-w) {
		return nil, fmt.Errorf("%w: movement sku", errCorrupt)
	}
	sku := b[1+w : 1+w+int(n)]
	if !keys.ValidSKU(sku) {
		return nil, fmt.Errorf("%w: movement sku %q", errCorrupt, sku)
	}
	return sku, nil
}

func (r *moveRec) movement(p int, seq uint64) store.Movement {
	id := store.MovementID(p, seq)
	return store.Movement{
		ID: id, Cursor: fmt.Sprint(seq), SKU: r.sku, Warehouse: r.warehouse, Kind: r.kind,
		DeltaOnHand: r.dOnHand, DeltaReserved: r.dReserved, OnHand: r.onHand, Reserved: r.reserved,
		Reason: r.reason, Ref: r.ref, Actor: r.actor, IdempotencyKey: r.ik,
		Version: r.version, At: r.at, Partition: p, Seq: seq,
	}
}

// skuMoveKey indexes a SKU's movement; SKUs never contain 0x00.
func skuMoveKey[T ~string | ~[]byte](sku T, seq uint64) []byte {
	b := make([]byte, 0, len(sku)+9)
	b = append(b, sku...)
	b = append(b, 0)
	return binary.BigEndian.AppendUint64(b, seq)
}

// moveHead returns the partition's ledger head seq.
func (pt *part) moveHead() (uint64, error) {
	v := pt.root.Get(keyMoveHead)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: ledger head of partition %d", errCorrupt, pt.p)
	}
	return binary.BigEndian.Uint64(v), nil
}

// appendMoves appends one movement per warehouse change of r (already at
// its new version) to the ledger, in the write's own transaction: numbered
// by the partition's head, stored in the ledger's tail (ledgertail.go).
func (s *Store) appendMoves(pt *part, sku string, r *stockRec, meta moveMeta, moves []whMove) error {
	if s.benchNoLedger {
		return nil
	}
	head, err := pt.moveHead()
	if err != nil {
		return err
	}
	at := s.cfg.Clock.Now().UTC().Truncate(time.Millisecond)
	for _, m := range moves {
		i, ok := r.find(m.warehouse)
		if !ok {
			return fmt.Errorf("%w: movement of missing warehouse %s/%s", errCorrupt, sku, m.warehouse)
		}
		w := r.warehouses[i]
		head++
		rec := moveRec{
			sku: sku, warehouse: m.warehouse, kind: m.kind, dOnHand: m.dOnHand, dReserved: m.dReserved,
			onHand: w.onHand, reserved: w.reserved, reason: meta.reason, ref: meta.ref, actor: meta.actor,
			ik: meta.ik, version: r.version, at: at,
		}
		if err := appendTail(pt, head, rec.encode()); err != nil {
			return err
		}
	}
	s.kickIndexer()
	s.tailGrew(len(moves))
	return pt.root.Put(keyMoveHead, seqKey(head))
}

// Movements returns a page of a SKU's ledger from one read transaction.
func (s *Store) Movements(ctx context.Context, q store.MovementQuery) (store.MovementPage, error) {
	var page store.MovementPage
	if !keys.ValidSKU(q.SKU) {
		return page, fmt.Errorf("embedded: movements: %w: sku %q", store.ErrInvalid, q.SKU)
	}
	if q.Limit <= 0 || q.Limit > store.MaxMovementsLimit {
		q.Limit = store.MaxMovementsLimit
	}
	p := s.space.Partition(keys.KindStock, q.SKU)
	prefix := skuMoveKey(q.SKU, 0)
	prefix = prefix[:len(prefix)-8]
	err := s.view(ctx, "movements", func(tx *bolt.Tx) error {
		page = store.MovementPage{}
		pt, err := partOf(tx, p)
		if err != nil {
			return err
		}
		c := pt.skuMoves.Cursor()
		for k, _ := c.Seek(skuMoveKey(q.SKU, q.After+1)); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if len(k) != len(prefix)+8 {
				continue // a longer SKU that starts with this one and 0x00: impossible, SKUs have no 0x00
			}
			seq := binary.BigEndian.Uint64(k[len(prefix):])
			if len(page.Movements) == q.Limit {
				page.Next = page.Movements[len(page.Movements)-1].Seq
				return nil
			}
			v := pt.moves.Get(seqKey(seq))
			if v == nil {
				return fmt.Errorf("%w: movement %d of %s indexed but missing", errCorrupt, seq, q.SKU)
			}
			rec, err := decodeMove(v)
			if err != nil {
				return fmt.Errorf("movement %d: %w", seq, err)
			}
			if q.Warehouse != "" && rec.warehouse != q.Warehouse {
				continue
			}
			page.Movements = append(page.Movements, rec.movement(p, seq))
		}
		// Then the ones still in the tail, all newer (ledgertail.go).
		return forTail(tx, p, func(e tailEntry) (bool, error) {
			if e.seq <= q.After {
				return true, nil
			}
			rec, err := decodeMove(e.rec)
			if err != nil {
				return false, fmt.Errorf("movement %d: %w", e.seq, err)
			}
			if rec.sku != q.SKU {
				return true, nil
			}
			if len(page.Movements) == q.Limit {
				page.Next = page.Movements[len(page.Movements)-1].Seq
				return false, nil
			}
			if q.Warehouse == "" || rec.warehouse == q.Warehouse {
				page.Movements = append(page.Movements, rec.movement(p, e.seq))
			}
			return true, nil
		})
	})
	if err != nil {
		return store.MovementPage{}, err
	}
	return page, nil
}

// StockSKUs lists the SKUs of a partition's stock bucket.
func (s *Store) StockSKUs(ctx context.Context, partition int) ([]string, error) {
	if partition < 0 || partition >= s.space.N() {
		return nil, fmt.Errorf("embedded: stock skus: %w: partition %d", store.ErrInvalid, partition)
	}
	var out []string
	err := s.view(ctx, "stock skus", func(tx *bolt.Tx) error {
		out = out[:0]
		b, err := subOf(tx, partition, bucketStock)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	return out, err
}

// lastMoveSeq is the seq of a SKU's newest movement, 0 if none: the
// newest in the ledger's tail, else the newest in the partition's trees.
func lastMoveSeq(pt *part, sku string) (uint64, error) {
	var last uint64
	err := forTail(pt.root.Tx(), pt.p, func(e tailEntry) (bool, error) {
		rec, err := decodeMove(e.rec)
		if err != nil {
			return false, fmt.Errorf("movement %d: %w", e.seq, err)
		}
		if rec.sku == sku {
			last = e.seq
		}
		return true, nil
	})
	if err != nil || last != 0 {
		return last, err
	}
	return lastIndexedMoveSeq(pt, sku), nil
}

// lastIndexedMoveSeq is the seq of a SKU's newest movement in the
// partition's trees, 0 if none.
func lastIndexedMoveSeq(pt *part, sku string) uint64 {
	prefix := skuMoveKey(sku, 0)
	prefix = prefix[:len(prefix)-8]
	c := pt.skuMoves.Cursor()
	// The first key after the SKU's range, then one back (seq 2^64-1 is
	// never used, so Seek never lands inside the range).
	k, _ := c.Seek(skuMoveKey(sku, ^uint64(0)))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, prefix) || len(k) != len(prefix)+8 {
		return 0
	}
	return binary.BigEndian.Uint64(k[len(prefix):])
}

// RebuildStock writes a view replayed from the ledger as the SKU's stock,
// if the ledger has not moved since lastSeq.
func (s *Store) RebuildStock(ctx context.Context, v store.StockView, lastSeq uint64) error {
	if !keys.ValidSKU(v.SKU) || v.Version == 0 {
		return fmt.Errorf("embedded: rebuild stock: %w: sku %q version %d", store.ErrInvalid, v.SKU, v.Version)
	}
	rec := stockRec{version: v.Version}
	for name, w := range v.Warehouses {
		if !keys.ValidWarehouse(name) || w.OnHand < 0 || w.Reserved < 0 || w.Reserved > w.OnHand || w.OnHand > maxOnHand {
			return fmt.Errorf("embedded: rebuild stock: %w: warehouse %q %+v", store.ErrInvalid, name, w)
		}
		*rec.ensure(name) = whRec{name: name, onHand: w.OnHand, reserved: w.Reserved}
	}
	p := s.space.Partition(keys.KindStock, v.SKU)
	var derr error
	err := s.write(ctx, "rebuild stock", func(tx *bolt.Tx) error {
		derr = nil
		pt, err := partOf(tx, p)
		if err != nil {
			return err
		}
		got, err := lastMoveSeq(pt, v.SKU)
		if err != nil {
			return err
		}
		if got != lastSeq {
			derr = fmt.Errorf("embedded: rebuild stock: %w: the ledger of %s moved on (last movement %d, replayed to %d)", store.ErrVersionMismatch, v.SKU, got, lastSeq)
			return nil
		}
		cur, err := getStock(pt.stock, v.SKU)
		if err != nil {
			return err
		}
		if cur != nil && cur.version > v.Version {
			derr = fmt.Errorf("embedded: rebuild stock: %w: %s is at version %d, the ledger at %d", store.ErrInvalid, v.SKU, cur.version, v.Version)
			return nil
		}
		if err := pt.stock.Put([]byte(v.SKU), rec.encode()); err != nil {
			return err
		}
		return s.appendChange(pt, keys.Key(keys.KindStock, v.SKU), rec.version)
	})
	if err != nil {
		return err
	}
	return derr
}

// LedgerHeads returns every partition's ledger head from one read
// transaction.
func (s *Store) LedgerHeads(ctx context.Context) ([]uint64, error) {
	heads := make([]uint64, s.space.N())
	err := s.view(ctx, "ledger heads", func(tx *bolt.Tx) error {
		for p := range heads {
			root := tx.Bucket(partitionName(p))
			if root == nil {
				return fmt.Errorf("%w: partition bucket %s missing", errCorrupt, partitionName(p))
			}
			var err error
			if heads[p], err = (&part{p: p, root: root}).moveHead(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return heads, nil
}

// PartitionMovements returns a partition's movements after a seq.
func (s *Store) PartitionMovements(ctx context.Context, partition int, after uint64, limit int) ([]store.Movement, error) {
	out, err := s.ManyPartitionMovements(ctx, map[int]uint64{partition: after}, limit)
	return out[partition], err
}

// ManyPartitionMovements returns, for each partition in after, up to limit
// of its movements after the seq given, from one read transaction and one
// pass over the ledger tail. The feed reads every partition that moved;
// one tail scan each would cost partitions x tail entries a feed read.
func (s *Store) ManyPartitionMovements(ctx context.Context, after map[int]uint64, limit int) (map[int][]store.Movement, error) {
	for p := range after {
		if p < 0 || p >= s.space.N() {
			return nil, fmt.Errorf("embedded: partition movements: %w: partition %d", store.ErrInvalid, p)
		}
	}
	if limit <= 0 || limit > store.MaxMovementsLimit {
		limit = store.MaxMovementsLimit
	}
	var out map[int][]store.Movement
	err := s.view(ctx, "partition movements", func(tx *bolt.Tx) error {
		out = make(map[int][]store.Movement, len(after))
		from := make(map[int]uint64, len(after)) // each partition's last seq not wanted
		open := 0                                // partitions that can take more
		for p, a := range after {
			moves, err := subOf(tx, p, bucketMoves)
			if err != nil {
				return err
			}
			// The feed starts above the trimmed part (ledgertrim.go): below
			// it are only openings.
			trimmed, err := trimmedThrough(tx.Bucket(partitionName(p)), p)
			if err != nil {
				return err
			}
			from[p] = max(a, trimmed)
			var got []store.Movement
			c := moves.Cursor()
			for k, v := c.Seek(seqKey(from[p] + 1)); k != nil && len(got) < limit; k, v = c.Next() {
				if len(k) != 8 {
					return fmt.Errorf("%w: ledger key of %d bytes in partition %d", errCorrupt, len(k), p)
				}
				rec, err := decodeMove(v)
				if err != nil {
					return err
				}
				got = append(got, rec.movement(p, binary.BigEndian.Uint64(k)))
			}
			out[p] = got
			if len(got) < limit {
				open++
			}
		}
		if open == 0 {
			return nil
		}
		// Then the ones still in the tail, all newer than a partition's
		// trees (ledgertail.go), in one pass for every partition.
		partition := -1
		if len(after) == 1 {
			for p := range after {
				partition = p // forTail skips the others before decoding
			}
		}
		return forTail(tx, partition, func(e tailEntry) (bool, error) {
			a, ok := from[e.p]
			if !ok || e.seq <= a || len(out[e.p]) == limit {
				return true, nil
			}
			rec, err := decodeMove(e.rec)
			if err != nil {
				return false, err
			}
			out[e.p] = append(out[e.p], rec.movement(e.p, e.seq))
			if len(out[e.p]) == limit {
				open--
			}
			return open > 0, nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
