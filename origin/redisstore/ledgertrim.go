package redisstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

// TrimLedger applies ledger retention partition by partition, one
// ledger_trim script per partition (its own atomic step): movements older
// than before leave the ledger, each warehouse's balance after its last
// trimmed movement stays as its opening (the "mo:<sku>" hash, read back by
// Movements as a store.KindOpening movement).
func (s *Store) TrimLedger(ctx context.Context, before time.Time, max int) (int, error) {
	if max <= 0 || max > store.MaxTrimBatch {
		return 0, fmt.Errorf("%w: trim ledger: max %d (1..%d)", store.ErrInvalid, max, store.MaxTrimBatch)
	}
	return s.trimEachPartition(ctx, scriptLedgerTrim, max, func(p, left int) (string, []any) {
		return s.ks.moveLog(p), []any{before.UnixMilli(), left, s.ks.part[p]}
	})
}

// openingMoves decodes a SKU's openings hash into opening movements with
// seq > after, in seq order.
func openingMoves(p int, sku string, h map[string]string, after uint64) ([]store.Movement, error) {
	var out []store.Movement
	for wh, val := range h {
		f := strings.Split(val, ":")
		if len(f) != 5 {
			return nil, errBadReplyf("opening %s/%s %q", sku, wh, val)
		}
		var n [5]int64
		for i, s := range f {
			x, err := strconv.ParseInt(s, 10, 64)
			if err != nil || x < 0 {
				return nil, errBadReplyf("opening %s/%s %q", sku, wh, val)
			}
			n[i] = x
		}
		seq := uint64(n[0])
		if seq <= after {
			continue
		}
		if seq == 0 || n[3] <= 0 || n[2] > n[1] {
			return nil, errBadReplyf("opening %s/%s %q", sku, wh, val)
		}
		out = append(out, store.Movement{
			ID: store.MovementID(p, seq), Cursor: f[0], SKU: sku, Warehouse: wh, Kind: store.KindOpening,
			DeltaOnHand: n[1], DeltaReserved: n[2], OnHand: n[1], Reserved: n[2],
			Version: uint64(n[3]), At: time.UnixMilli(n[4]).UTC(), Partition: p, Seq: seq,
		})
	}
	slices.SortFunc(out, func(a, b store.Movement) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}
