package redisstore_test

import (
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
	ctx := ctxT(t)
	j := store.NewJob{ID: "durjob", Actor: "k", Lines: 2 * store.JobChunkLines, CreatedAt: time.Now()}
	for i := range 2 * store.JobChunkLines {
		j.Valid = append(j.Valid, store.JobLine{Line: int64(i + 1), Op: store.OpAdjust, SKU: fmt.Sprintf("DJ-%d", i%10), Warehouse: "w", Qty: 1})
	}
	if _, err := s.CreateJob(ctx, j); err != nil {
		t.Fatalf("create with a live replica: %v", err)
	}
	if got, err := s.RunJob(ctx, "durjob", "a", time.Now(), time.Minute); err != nil || got.Next != 1 {
		t.Fatalf("first chunk with a live replica: %+v %v", got, err)
	}
	f.cutReplica(t)
	_, err := s.RunJob(ctx, "durjob", "a", time.Now(), time.Minute)
	if !errors.Is(err, store.ErrOutcomeUnknown) {
		t.Fatalf("second chunk with the replica cut off: %v, want ErrOutcomeUnknown", err)
	}
	got, err := s.GetJob(ctx, "durjob")
	if err != nil || got.Next != 1 || got.Applied != store.JobChunkLines {
		t.Fatalf("job after an unacknowledged chunk: %+v %v; want the cursor at chunk 1", got, err)
	}
	// The master applied the chunk's lines anyway: with the WAIT turned
	// off, the re-run replays them, applies nothing twice, and counts them once.
	s2 := openOn(t, []string{f.proxy.Addr}, func(c *redisstore.Config) {
		c.WaitDisabled = true
		c.KeyPrefix = prefix
	})
	got, err = s2.RunJob(ctx, "durjob", "a", time.Now(), time.Minute)
	if err != nil || !got.Ended() || got.Applied != 2*store.JobChunkLines {
		t.Fatalf("re-run: %+v %v", got, err)
	}
	for i := range 10 {
		v, err := s2.GetStockPrimary(ctx, fmt.Sprintf("DJ-%d", i))
		if err != nil || v.Version != 200 || v.Warehouses["w"].OnHand != 200 {
			t.Fatalf("DJ-%d = %+v %v; want 200 adjusts, each once", i, v, err)
		}
	}
}
