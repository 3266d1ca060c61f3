package redisstore

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// ReserveScriptSHA is the SHA1 the store runs the reservation script under.
func ReserveScriptSHA() string { return scriptReserve.sha }

// RedisBenchmarkReserveArgs returns the arguments of redis-benchmark that
// make it run exactly what Store.Reserve sends for one unit of sku without
// an idempotency key: "EVALSHA sha numkeys keys... args...". The
// reservation ID's random part is __rand_int__, which redis-benchmark -r
// replaces with 12 digits per call, so every call holds a new reservation.
func (s *Store) RedisBenchmarkReserveArgs(sku string, now time.Time, ttl time.Duration) []string {
	p := keys.DefaultSpace().Partition(keys.KindStock, sku)
	id := fmt.Sprintf("r%02d_BENCH___%s", p, "__rand_int__") // 4+8+12 = keys.ReservationIDLen+4
	r := store.ReserveRequest{ID: id, SKU: sku, Qty: 1, Now: now, TTL: ttl}
	ks := s.reserveKeys(p, sku, id, "")
	out := []string{"EVALSHA", scriptReserve.sha, fmt.Sprint(len(ks))}
	out = append(out, ks...)
	for _, a := range s.reserveArgs(r, now.Add(ttl)) {
		out = append(out, fmt.Sprint(a))
	}
	for _, a := range out {
		if strings.ContainsAny(a, " \t\n") {
			panic("redis-benchmark argument with whitespace: " + a)
		}
	}
	return out
}

// LedgerMemory returns the Redis memory (MEMORY USAGE, all samples) of a
// SKU's ledger stream and of its partition's ledger order stream.
func (s *Store) LedgerMemory(ctx context.Context, sku string) (skuStream, partLog int64, err error) {
	p := keys.DefaultSpace().Partition(keys.KindStock, sku)
	if skuStream, err = s.rw.MemoryUsage(ctx, s.ks.moves(p, sku), 0).Result(); err != nil {
		return 0, 0, err
	}
	partLog, err = s.rw.MemoryUsage(ctx, s.ks.moveLog(p), 0).Result()
	return skuStream, partLog, err
}

// UseBenchNoLedger makes stock writes run a stock_write whose append_move
// does nothing (the same script otherwise): the "before the ledger" side
// of BenchmarkAdjust only. It returns the function that puts the real
// script back; no other test may run meanwhile.
func UseBenchNoLedger() (restore func()) {
	old := scriptStockWrite
	src := embedded("common") + embedded("fence") + "append_move = function() return 0 end\n" + embedded("stock_apply") + embedded("stock_write")
	sum := sha1.Sum([]byte(src))
	scriptStockWrite = &script{name: "stock_write_noledger", src: src, sha: hex.EncodeToString(sum[:])}
	return func() { scriptStockWrite = old }
}

// ScriptCPU returns the server's EVALSHA count and the microseconds of
// server CPU they took (INFO commandstats): a script's cost measured where
// it runs, which a loaded client machine does not blur.
func (s *Store) ScriptCPU(ctx context.Context) (calls, usec int64, err error) {
	info, err := s.rw.Info(ctx, "commandstats").Result()
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.Lines(info) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_evalsha:"); ok {
			_, err = fmt.Sscanf(rest, "calls=%d,usec=%d,", &calls, &usec)
			return calls, usec, err
		}
	}
	return 0, 0, nil
}

// JobEntryIdle returns the job's stream entry's consumer and idle time in
// the workers group (XPENDING); ok false when it is not pending.
func (s *Store) JobEntryIdle(ctx context.Context, id string) (consumer string, idle time.Duration, ok bool, err error) {
	entry, err := s.rw.HGet(ctx, s.ks.jobStreamIDs(), id).Result()
	if err != nil {
		return "", 0, false, nil
	}
	pe, err := s.rw.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: s.ks.jobStream(), Group: jobGroup, Start: entry, End: entry, Count: 1}).Result()
	if err != nil || len(pe) == 0 {
		return "", 0, false, err
	}
	return pe[0].Consumer, pe[0].Idle, true, nil
}

// JobStreamLen is the job stream's length and its pending entries.
func (s *Store) JobStreamLen(ctx context.Context) (entries, pending int64, err error) {
	if entries, err = s.rw.XLen(ctx, s.ks.jobStream()).Result(); err != nil {
		return 0, 0, err
	}
	p, err := s.rw.XPending(ctx, s.ks.jobStream(), jobGroup).Result()
	if err != nil {
		return 0, 0, err
	}
	return entries, p.Count, nil
}

// MoveJobToLegacyQueue takes a queued job off the stream and puts it in
// the ZSET queue of earlier versions, as an upgraded store finds it.
func (s *Store) MoveJobToLegacyQueue(ctx context.Context, id string) error {
	if err := s.dequeueJob(ctx, id); err != nil {
		return err
	}
	s.legacyDrained.Store(false)
	return s.rw.ZAdd(ctx, s.ks.jobQueue(), redis.Z{Score: 1, Member: id}).Err()
}

// RecordJobChunks runs job_progress for chunks first, first+1, ... of job
// id, with applied[i] lines applied in chunk first+i (cursor values cur,
// as the caller believes them), no errors and no final status. It returns
// the script's tag and the job after it.
func (s *Store) RecordJobChunks(ctx context.Context, id string, cur []int, applied []int64) (string, store.Job, error) {
	ks := []string{s.ks.job(id)}
	var args []any
	for i, c := range cur {
		ks = append(ks, s.ks.jobChunk(id, c))
		args = append(args, c, applied[i], 0, "[]", "")
	}
	v, err := s.run(ctx, scriptJobProgress, ks, args...)
	if err != nil {
		return "", store.Job{}, err
	}
	tag, rest, err := replyOf(v)
	if err != nil {
		return "", store.Job{}, err
	}
	j, err := jobFromReply(id, rest)
	return tag, j, err
}

// JobChunkStored reports whether chunk c of job id is still stored.
func (s *Store) JobChunkStored(ctx context.Context, id string, c int) (bool, error) {
	n, err := s.rw.Exists(ctx, s.ks.jobChunk(id, c)).Result()
	return n == 1, err
}

// JobLeaseUntil is the end of job id's lease (unix ms) as its hash holds it.
func (s *Store) JobLeaseUntil(ctx context.Context, id string) (int64, error) {
	return s.rw.HGet(ctx, s.ks.job(id), "lu").Int64()
}

// AppendLegacyMovement appends a movement to sku's ledger as builds before
// the packed layout wrote it (one field per value), numbered after the
// partition's last movement; it returns its seq.
func (s *Store) AppendLegacyMovement(ctx context.Context, sku, wh, kind string, dh, oh, v int64, at time.Time, reason, actor string) (uint64, error) {
	p := s.space.Partition(keys.KindStock, sku)
	seq, err := s.rw.Incr(ctx, s.ks.part[p]+"mseq").Uint64()
	if err != nil {
		return 0, err
	}
	id := fmt.Sprintf("%d-0", seq)
	if err := s.rw.XAdd(ctx, &redis.XAddArgs{Stream: s.ks.moves(p, sku), ID: id, Values: []any{
		"w", wh, "k", kind, "dh", dh, "dr", 0, "h", oh, "r", 0, "v", v, "t", at.UnixMilli(), "rs", reason, "a", actor,
	}}).Err(); err != nil {
		return 0, err
	}
	return seq, s.rw.XAdd(ctx, &redis.XAddArgs{Stream: s.ks.moveLog(p), ID: id, Values: []any{"s", sku}}).Err()
}

// MovementFields is the stored fields of sku's ledger entries, oldest first.
func (s *Store) MovementFields(ctx context.Context, sku string) ([]map[string]any, error) {
	p := s.space.Partition(keys.KindStock, sku)
	es, err := s.rw.XRange(ctx, s.ks.moves(p, sku), "-", "+").Result()
	var out []map[string]any
	for _, e := range es {
		out = append(out, e.Values)
	}
	return out, err
}

// Openings is sku's openings hash (ledger_trim.lua).
func (s *Store) Openings(ctx context.Context, sku string) (map[string]string, error) {
	p := s.space.Partition(keys.KindStock, sku)
	return s.rw.HGetAll(ctx, s.ks.part[p]+"mo:"+sku).Result()
}

// AppendLegacyChange appends a change to key's partition log as builds
// before the packed layout wrote it (fields k, v, t); it returns its seq.
func (s *Store) AppendLegacyChange(ctx context.Context, key string, version uint64, at time.Time) (uint64, error) {
	p := s.space.PartitionOfKey(key)
	seq, err := s.rw.Incr(ctx, s.ks.seq(p)).Uint64()
	if err != nil {
		return 0, err
	}
	return seq, s.rw.XAdd(ctx, &redis.XAddArgs{Stream: s.ks.log(p), ID: fmt.Sprintf("%d-0", seq),
		Values: []any{"k", key, "v", version, "t", at.UnixMilli()}}).Err()
}

// MaxChunksPerStep is the most chunks one RunJob step applies.
const MaxChunksPerStep = maxChunksPerStep

// MoveLogLen is the number of entries in partition p's ledger order
// stream (mlog).
func (s *Store) MoveLogLen(ctx context.Context, p int) (int64, error) {
	return s.rw.XLen(ctx, s.ks.moveLog(p)).Result()
}

// ChangeLogLen is the number of entries in partition p's change log.
func (s *Store) ChangeLogLen(ctx context.Context, p int) (int64, error) {
	return s.rw.XLen(ctx, s.ks.log(p)).Result()
}
