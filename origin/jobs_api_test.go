package origin_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/store"
)

// waitJob polls GET /v1/jobs/{id} until the job ends (the bound is a
// deadline for a loaded machine, not a performance claim).
func waitJob(t *testing.T, o *testOrigin, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		m := expect(t, o.admin("GET", "/v1/jobs/"+id, nil), 200, "")
		if m["status"] == "done" || m["status"] == "failed" {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s did not end: %v", id, m)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func postBulk(t *testing.T, o *testOrigin, body string) string {
	t.Helper()
	r := o.admin("POST", "/v1/stock:bulk", body)
	m := expect(t, r, 202, "")
	id, _ := m["job"].(string)
	if id == "" || r.header.Get("Location") != "/v1/jobs/"+id || len(m) != 1 {
		t.Fatalf("202 answer %s, Location %q", r.body, r.header.Get("Location"))
	}
	return id
}

func TestBulkJobAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		body := strings.Join([]string{
			`{"op":"set","sku":"B-1","warehouse":"ams","on_hand":10,"reason":"cycle_count","ref":"erp-1"}`, // 1
			`{"op":"adjust","sku":"B-1","warehouse":"ams","delta":5,"reason":"received"}`,                  // 2
			``, // 3: blank, skipped
			`{"op":"transfer","sku":"B-1","warehouse":"ams","to":"ber","qty":4}`,        // 4
			`{"op":"adjust","sku":"B-1","warehouse":"ams","delta":-100}`,                // 5: insufficient
			`{"op":"adjust","sku":"B-1","warehouse":"ams","delta":1,"reason":"stolen"}`, // 6: bad reason
			`{"op":"adjust","sku":"B-1"`,                                                // 7: malformed
			`{"op":"explode","sku":"B-1","warehouse":"ams"}`,                            // 8: bad op
			`{"op":"set","sku":"B-2","warehouse":"ams","on_hand":3}` + "\r",             // 9: CRLF
			`{"op":"adjust","sku":"B-3","warehouse":"ams","delta":-1}`,                  // 10: unknown
		}, "\n")
		id := postBulk(t, o, body)
		m := waitJob(t, o, id)
		want := map[string]any{"id": id, "status": "done", "lines": 9.0, "applied": 4.0, "failed": 5.0}
		for k, v := range want {
			if m[k] != v {
				t.Fatalf("job %s = %v, want %v (%v)", k, m[k], v, m)
			}
		}
		raw, _ := json.Marshal(m["errors"])
		var errs []store.JobError
		_ = json.Unmarshal(raw, &errs)
		wantErrs := []store.JobError{{Line: 5, Error: "insufficient_stock"}, {Line: 6, Error: "invalid_reason"},
			{Line: 7, Error: "invalid_json"}, {Line: 8, Error: "invalid_op"}, {Line: 10, Error: "not_found"}}
		if len(errs) != len(wantErrs) || len(m) != 6 {
			t.Fatalf("errors %s", raw)
		}
		for i, e := range errs {
			if e.Line != wantErrs[i].Line || e.Error != wantErrs[i].Error || e.Message == "" {
				t.Fatalf("error %d = %+v, want %+v", i, e, wantErrs[i])
			}
		}
		v := expect(t, o.admin("GET", "/v1/stock/B-1", nil), 200, "")
		whs := v["warehouses"].(map[string]any)
		if v["version"] != 3.0 || whs["ams"].(map[string]any)["on_hand"] != 11.0 || whs["ber"].(map[string]any)["on_hand"] != 4.0 {
			t.Fatalf("B-1 after the job: %v", v)
		}
		page := expect(t, o.admin("GET", "/v1/stock/B-1/movements", nil), 200, "")
		moves := page["movements"].([]any)
		if len(moves) != 4 {
			t.Fatalf("movements %v", moves)
		}
		actor := origin.NewAdminKey(testKey, origin.ScopeAll).ID()
		for i, line := range []int{1, 2, 4, 4} {
			mv := moves[i].(map[string]any)
			if mv["idempotency_key"] != fmt.Sprintf("job:%s:%d", id, line) || mv["actor"] != actor {
				t.Fatalf("movement %d: %v", i, mv)
			}
		}
		// A queued line's change reaches the publisher like a synchronous one's.
		deadline := time.Now().Add(10 * time.Second)
		for !o.publishedKey("s:B-2") {
			if time.Now().After(deadline) {
				t.Fatal("the change of a bulk line was never published")
			}
			time.Sleep(10 * time.Millisecond)
		}

		expect(t, o.admin("GET", "/v1/jobs/0123456789abcdef01234567", nil), 404, "not_found")
		expect(t, o.admin("GET", "/v1/jobs/NOT-AN-ID", nil), 404, "not_found")
		expect(t, o.admin("POST", "/v1/stock:bulk", "\n\n"), 400, "invalid_body")
		expect(t, o.do("POST", "/v1/stock:bulk", "", `{"op":"set"}`), 401, "")

		// Every line bad: the job ends at once, failed.
		id = postBulk(t, o, "nope\n{}\n")
		m = waitJob(t, o, id)
		if m["status"] != "failed" || m["failed"] != 2.0 || m["applied"] != 0.0 {
			t.Fatalf("all-bad job: %v", m)
		}
	})
}

// TestBulkOverCap: a body over BulkMaxBytes is 413 and queues nothing.
func TestBulkOverCap(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b, func(c *origin.Config) { c.BulkMaxBytes = 2048 })
		line := `{"op":"set","sku":"C-1","warehouse":"ams","on_hand":1}` + "\n"
		expect(t, o.admin("POST", "/v1/stock:bulk", strings.Repeat(line, 2048/len(line)+1)), 413, "body_too_large")
		ids, err := o.store.(store.JobQueue).PendingJobs(t.Context())
		if err != nil || len(ids) != 0 {
			t.Fatalf("pending after a 413: %v, %v", ids, err)
		}
		expect(t, o.admin("GET", "/v1/stock/C-1", nil), 404, "not_found")
		postBulk(t, o, strings.Repeat(line, 2048/len(line)-1))
	})
}

// TestBulkJobSurvivesRestart: a job queued by an origin whose worker is
// off is run by the next origin over the same store.
func TestBulkJobSurvivesRestart(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b, func(c *origin.Config) { c.NoJobWorker = true })
		var body strings.Builder
		for i := range 2500 {
			fmt.Fprintf(&body, `{"op":"adjust","sku":"R-%d","warehouse":"ams","delta":1}`+"\n", i%10)
		}
		id := postBulk(t, o, body.String())
		time.Sleep(100 * time.Millisecond) // nothing would run it anyway; not a bound
		if m := expect(t, o.admin("GET", "/v1/jobs/"+id, nil), 200, ""); m["status"] != "queued" || m["applied"] != 0.0 {
			t.Fatalf("job without a worker: %v", m)
		}
		o.srv.Close()
		o2 := newTestOriginOn(t, o.store)
		m := waitJob(t, o2, id)
		if m["status"] != "done" || m["applied"] != 2500.0 {
			t.Fatalf("resumed job: %v", m)
		}
		for i := range 10 {
			v := expect(t, o2.admin("GET", fmt.Sprintf("/v1/stock/R-%d", i), nil), 200, "")
			if v["available"] != 250.0 || v["version"] != 250.0 {
				t.Fatalf("R-%d: %v", i, v)
			}
		}
	})
}
