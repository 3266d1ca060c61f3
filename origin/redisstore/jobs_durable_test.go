package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

// TestBulkJobWaitsForReplicas: with a replica (WAIT on), a job chunk whose
// lines no replica acknowledged is not recorded (ErrOutcomeUnknown, the
// cursor stays), and once the replica is back the chunk re-runs and its
// lines, already applied on the master, replay instead of applying twice.
// Without the WAIT in runBatchDurable the chunk would be recorded with the
// replica cut off.
func TestBulkJobWaitsForReplicas(t *testing.T) {
	f := startFailoverPair(t)
	prefix := uniquePrefix()
	// The budget only bounds how long the cut-off chunk waits; under a
	// loaded CI machine a live replica took over 300 ms to acknowledge
	// the create once.
	s := openOn(t, []string{f.proxy.Addr}, func(c *redisstore.Config) { c.WaitTimeout, c.KeyPrefix = 2*time.Second, prefix })
	// 17 000 lines through a store that waits for the replica: more than
	// ctxT's 10 s on a loaded CI machine under -race (CI saw GetJob run
	// out of it).
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// More chunks than one step takes (RunJob applies several at once),
	// so the job is still running after the first step.
	const chunks = redisstore.MaxChunksPerStep + 1
	j := store.NewJob{ID: "durjob", Actor: "k", Lines: chunks * store.JobChunkLines, CreatedAt: time.Now()}
	for i := range chunks * store.JobChunkLines {
		j.Valid = append(j.Valid, store.JobLine{Line: int64(i + 1), Op: store.OpAdjust, SKU: fmt.Sprintf("DJ-%d", i%10), Warehouse: "w", Qty: 1})
	}
	if _, err := s.CreateJob(ctx, j); err != nil {
		t.Fatalf("create with a live replica: %v", err)
	}
	first, err := s.RunJob(ctx, "durjob", "a", time.Now(), time.Minute)
	if err != nil || first.Next < 1 || first.Next >= chunks || first.Applied != int64(first.Next)*store.JobChunkLines {
		t.Fatalf("first step with a live replica: %+v %v", first, err)
	}
	f.cutReplica(t)
	_, err = s.RunJob(ctx, "durjob", "a", time.Now(), time.Minute)
	if !errors.Is(err, store.ErrOutcomeUnknown) {
		t.Fatalf("second step with the replica cut off: %v, want ErrOutcomeUnknown", err)
	}
	got, err := s.GetJob(ctx, "durjob")
	if err != nil || got.Next != first.Next || got.Applied != first.Applied {
		t.Fatalf("job after an unacknowledged step: %+v %v; want the cursor where the first step left it (%d)", got, err, first.Next)
	}
	// The master applied the chunk's lines anyway: with the WAIT turned
	// off, the re-run replays them, applies nothing twice, and counts them once.
	s2 := openOn(t, []string{f.proxy.Addr}, func(c *redisstore.Config) {
		c.WaitDisabled = true
		c.KeyPrefix = prefix
	})
	for got, err = s2.RunJob(ctx, "durjob", "a", time.Now(), time.Minute); err == nil && !got.Ended(); {
		got, err = s2.RunJob(ctx, "durjob", "a", time.Now(), time.Minute)
	}
	if err != nil || got.Applied != chunks*store.JobChunkLines || got.Failed != 0 {
		t.Fatalf("re-run: %+v %v", got, err)
	}
	const each = chunks * store.JobChunkLines / 10
	for i := range 10 {
		v, err := s2.GetStockPrimary(ctx, fmt.Sprintf("DJ-%d", i))
		if err != nil || v.Version != each || v.Warehouses["w"].OnHand != each {
			t.Fatalf("DJ-%d = %+v %v; want %d adjusts, each once", i, v, err, each)
		}
	}
}
