package embedded

import (
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

// Stock writes' idempotency records live in the idem bucket of the key's
// own partition (store.IdempotencyPartition) under 0x01 + key: a SKU never
// starts with 0x01, so they never meet a reservation's (sku 0x00 key). One
// bbolt transaction spans partitions, so the record, the state change and
// the movements commit together; the Redis backend, whose partitions are
// cluster slots, needs a claim step first (see redisstore).
const stockIdemTag = 0x01

func stockIdemKey(key string) []byte {
	return append([]byte{stockIdemTag}, key...)
}

// stockIdemRec is the first outcome of an idempotent stock write: the
// request's fingerprint and the stock record it left.
type stockIdemRec struct {
	fp    string
	stock []byte // stockRec.encode() right after the write
	at    time.Time
}

func (r *stockIdemRec) encode() []byte {
	e := enc{b: make([]byte, 0, 24+len(r.fp)+len(r.stock))}
	e.byte(recordFormat)
	e.str(r.fp)
	e.str(string(r.stock))
	e.time(r.at)
	return e.b
}

func decodeStockIdem(b []byte) (stockIdemRec, error) {
	var r stockIdemRec
	d := dec{b: b}
	if d.byte("stock idempotency format") != recordFormat {
		d.fail("stock idempotency format")
	}
	r.fp = d.str("stock idempotency fingerprint", 1024)
	r.stock = []byte(d.str("stock idempotency outcome", 1<<20))
	r.at = d.time("stock idempotency at")
	if err := d.done("stock idempotency record"); err != nil {
		return stockIdemRec{}, err
	}
	return r, nil
}

// idemRecordTime reads the time of any record of the idem bucket, for
// maintenance.
func idemRecordTime(ik, v []byte) (time.Time, error) {
	if len(ik) > 0 && ik[0] == stockIdemTag {
		r, err := decodeStockIdem(v)
		return r.at, err
	}
	r, err := decodeIdem(v)
	return r.at, err
}

// replayStockWrite answers a repeated key from its record: the first view,
// or a mismatch. ok is false when the record is past its TTL (forgotten).
func (s *Store) replayStockWrite(rec *stockIdemRec, w *store.StockWrite, now time.Time) (v store.StockView, ok bool, refused error) {
	if s.idemExpired(rec.at, now) {
		return store.StockView{}, false, nil
	}
	if rec.fp != w.Fingerprint() {
		return store.StockView{}, true, store.ErrIdempotencyMismatch
	}
	st, err := decodeStock(rec.stock)
	if err != nil {
		return store.StockView{}, true, err
	}
	v = st.view(w.SKU)
	v.Replayed = true
	return v, true, nil
}
