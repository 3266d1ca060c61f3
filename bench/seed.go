package bench

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// seedWorkers is how many admin requests seeding keeps in flight: enough
// for the embedded store to share each fsync among many writes.
const seedWorkers = 32

// initialOnHand is what SKU i starts with in each warehouse: little for the
// hottest SKUs (low ranks), so reservations run them out and refusals and
// races at zero happen; more down the tail.
func initialOnHand(i int) int64 { return int64(5 + i%50) }

// seed creates the run's links and SKUs through the admin API of origin,
// recording the stock it sets in the ledger.
func seed(ctx context.Context, origin *host, adminKey string, keys *keySet, l *ledger, pr *progress) error {
	type job struct {
		what string
		n    int
		do   func(c *adminCall, i int, deadline time.Time) error
	}
	jobs := []job{
		{"links", len(keys.codes), func(c *adminCall, i int, deadline time.Time) error {
			code := keys.codes[i]
			body := fmt.Appendf(nil, `{"url":"https://example.com/bench/%s","code":%q}`, code, code)
			_, err := c.expect(origin, http.MethodPost, "/v1/links", body, deadline, http.StatusCreated)
			return err
		}},
		{"SKUs", len(keys.skus), func(c *adminCall, i int, deadline time.Time) error {
			for _, wh := range skuWarehouses(i) {
				n := initialOnHand(i)
				body := fmt.Appendf(nil, `{"on_hand":%d}`, n)
				if _, err := c.expect(origin, http.MethodPut, "/v1/stock/"+keys.skus[i]+"/"+wh, body, deadline, http.StatusOK); err != nil {
					return err
				}
				l.set(keys.skus[i], wh, n)
			}
			return nil
		}},
	}
	for _, j := range jobs {
		if err := parallel(ctx, j.n, seedWorkers, adminKey, j.do, func(done int) { pr.status("seeding %s: %d/%d", j.what, done, j.n) }); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrSeed, j.what, err)
		}
		pr.done()
	}
	return nil
}

// parallel runs do(i) for i in [0, n) on workers goroutines, each with its
// own admin call, and stops at the first error (or when ctx ends).
func parallel(ctx context.Context, n, workers int, adminKey string, do func(c *adminCall, i int, deadline time.Time) error, tick func(done int)) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newAdminCall(adminKey)
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := do(c, i, time.Now().Add(10*time.Second)); err != nil {
					cancel(err)
					return
				}
				done.Add(1)
			}
		}()
	}
	stop := make(chan struct{})
	var tw sync.WaitGroup
	tw.Add(1)
	go func() {
		defer tw.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				tick(int(done.Load()))
			}
		}
	}()
	wg.Wait()
	close(stop)
	tw.Wait()
	tick(int(done.Load()))
	return context.Cause(ctx)
}
