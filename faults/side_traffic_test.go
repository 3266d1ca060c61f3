package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sideTraffic runs carts (several lines, all or nothing), transfers and
// bulk jobs on SKUs of their own while the reservation workload and its
// faults run, so those paths also see kill -9 and Redis crashes. Their
// outcomes are not modelled one by one (a client may never learn one);
// what must hold is checked after the run: every SKU's ledger replays to
// its stored view, no warehouse shows available < 0, and every bulk job
// the origin accepted ends with each line applied or failed, once.
type sideTraffic struct {
	api  *admin
	skus []string
	stop chan struct{}
	wg   sync.WaitGroup

	mu   sync.Mutex
	jobs []string

	carts, cartsRefused, transfers, jobLines atomic.Int64
}

func startSideTraffic(t *testing.T, api *admin, run string, workers int) *sideTraffic {
	st := &sideTraffic{api: api, stop: make(chan struct{})}
	for i := range 6 {
		sku := fmt.Sprintf("SIDE-%s-%d", run, i)
		st.skus = append(st.skus, sku)
		for _, w := range []string{"a", "b"} {
			api.must(t, "PUT", "/v1/stock/"+sku+"/"+w, `{"on_hand":50}`)
		}
	}
	for c := range workers {
		st.wg.Add(1)
		go func() {
			defer st.wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 77))
			for {
				select {
				case <-st.stop:
					return
				default:
				}
				st.step(rng)
			}
		}()
	}
	return st
}

func (st *sideTraffic) send(method, path, body string) (answer, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	a, err := st.api.do(ctx, method, path, body)
	if err != nil || a.status >= 500 {
		time.Sleep(20 * time.Millisecond) // the origin or Redis is down: back off a little
		return a, false
	}
	return a, true
}

func (st *sideTraffic) step(rng *rand.Rand) {
	sku := func() string { return st.skus[rng.IntN(len(st.skus))] }
	wh := func() string { return []string{"a", "b"}[rng.IntN(2)] }
	switch r := rng.IntN(10); {
	case r < 4: // a cart of 2-3 lines, then commit or release it
		var lines []string
		used := map[string]bool{}
		for len(lines) < 2+rng.IntN(2) {
			s := sku()
			if used[s] {
				continue
			}
			used[s] = true
			lines = append(lines, fmt.Sprintf(`{"sku":%q,"qty":%d,"warehouse":%q}`, s, 1+rng.IntN(4), wh()))
		}
		a, ok := st.send("POST", "/v1/reservations", `{"ttl_seconds":5,"lines":[`+strings.Join(lines, ",")+`]}`)
		if !ok {
			return
		}
		if a.status != http.StatusCreated {
			st.cartsRefused.Add(1)
			return
		}
		st.carts.Add(1)
		var res struct{ ID string }
		_ = a.json(&res)
		then := []string{"commit", "release", ""}[rng.IntN(3)]
		if then != "" {
			st.send("POST", "/v1/reservations/"+res.ID+"/"+then, "")
		}
	case r < 7:
		from, to := "a", "b"
		if rng.IntN(2) == 0 {
			from, to = to, from
		}
		if a, ok := st.send("POST", "/v1/stock/"+sku()+"/transfers", fmt.Sprintf(`{"from":%q,"to":%q,"qty":%d}`, from, to, 1+rng.IntN(3))); ok && a.status == http.StatusOK {
			st.transfers.Add(1)
		}
	default: // a bulk job of adjusts and transfers
		var b strings.Builder
		n := 5 + rng.IntN(50)
		for range n {
			if rng.IntN(3) == 0 {
				fmt.Fprintf(&b, `{"op":"transfer","sku":%q,"warehouse":"a","to":"b","qty":1}`+"\n", sku())
			} else {
				fmt.Fprintf(&b, `{"op":"adjust","sku":%q,"warehouse":%q,"delta":%d}`+"\n", sku(), wh(), rng.IntN(7)-3|1)
			}
		}
		if a, ok := st.send("POST", "/v1/stock:bulk", b.String()); ok && a.status == http.StatusAccepted {
			var j struct{ Job string }
			_ = a.json(&j)
			st.mu.Lock()
			st.jobs = append(st.jobs, j.Job)
			st.mu.Unlock()
			st.jobLines.Add(int64(n))
		}
	}
}

// finish stops the traffic, waits for every accepted job to end (the
// origin must be up), and checks the jobs' counts.
func (st *sideTraffic) finish(t *testing.T) {
	close(st.stop)
	st.wg.Wait()
	deadline := time.Now().Add(2 * time.Minute)
	for _, id := range st.jobs {
		for {
			var j struct {
				Status                 string
				Lines, Applied, Failed int64
			}
			if err := json.Unmarshal(st.api.must(t, "GET", "/v1/jobs/"+id, "").body, &j); err != nil {
				t.Fatal(err)
			}
			if j.Status == "done" || j.Status == "failed" {
				if j.Applied+j.Failed != j.Lines {
					t.Errorf("job %s ended with %d applied + %d failed of %d lines", id, j.Applied, j.Failed, j.Lines)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s did not end: %+v", id, j)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// checkLedger asks the origin to replay every SKU's ledger (GET
// /v1/ledger/verify) and reads each SKU: no difference, nothing below 0.
func checkLedger(t *testing.T, api *admin, skus []string) (checked int64) {
	t.Helper()
	var v struct {
		Checked     int64
		Differences []json.RawMessage
	}
	if err := json.Unmarshal(api.must(t, "GET", "/v1/ledger/verify", "").body, &v); err != nil {
		t.Fatal(err)
	}
	for _, d := range v.Differences {
		t.Errorf("ledger replay differs from the stored view: %s", d)
	}
	for _, sku := range skus {
		var view struct {
			Available  int64
			Warehouses map[string]struct{ Available int64 }
		}
		_ = json.Unmarshal(api.must(t, "GET", "/v1/stock/"+sku, "").body, &view)
		for w, s := range view.Warehouses {
			if s.Available < 0 {
				t.Errorf("%s/%s: available %d", sku, w, s.Available)
			}
		}
	}
	return v.Checked
}
