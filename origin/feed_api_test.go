package origin_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestMovementFeedAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		expect(t, o.admin("PUT", "/v1/stock/FD-1/w1", map[string]any{"on_hand": 5}), 200, "")
		expect(t, o.admin("PUT", "/v1/stock/FD-2/w1", map[string]any{"on_hand": 7}), 200, "")
		p := expect(t, o.admin("GET", "/v1/stock/movements?limit=1", nil), 200, "")
		if len(p["movements"].([]any)) != 1 {
			t.Fatalf("page 1: %v", p)
		}
		p2 := expect(t, o.admin("GET", "/v1/stock/movements?after="+p["next"].(string), nil), 200, "")
		if len(p2["movements"].([]any)) != 1 {
			t.Fatalf("page 2: %v", p2)
		}
		end := p2["next"].(string)
		if got := expect(t, o.admin("GET", "/v1/stock/movements?after="+end, nil), 200, ""); len(got["movements"].([]any)) != 0 || got["next"] != end {
			t.Fatalf("at the end: %v", got)
		}

		// Long poll: a write during the wait is returned by it.
		polled := make(chan map[string]any, 1)
		go func() {
			r := o.admin("GET", "/v1/stock/movements?wait=20&after="+end, nil)
			var m map[string]any
			_ = json.Unmarshal(r.body, &m)
			polled <- m
		}()
		time.Sleep(100 * time.Millisecond) // let the poll start waiting (not a bound)
		expect(t, o.admin("POST", "/v1/stock/FD-1/w1/adjust", map[string]any{"delta": 2, "reason": "received"}), 200, "")
		select {
		case m := <-polled:
			mv := m["movements"].([]any)
			if len(mv) != 1 || mv[0].(map[string]any)["kind"] != "adjust" || mv[0].(map[string]any)["sku"] != "FD-1" {
				t.Fatalf("long poll: %v", m)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the long poll did not return the write")
		}
		expect(t, o.admin("GET", "/v1/stock/movements?after=!!", nil), 400, "invalid_cursor")
		expect(t, o.admin("GET", "/v1/stock/movements?wait=99", nil), 400, "invalid_wait")

		// SSE from the start: three events; resume after the first with
		// Last-Event-ID: exactly the other two.
		ids := readSSE(t, o, "", 3)
		rest := readSSE(t, o, ids[0], 2)
		if rest[0] != ids[1] || rest[1] != ids[2] {
			t.Fatalf("resumed ids %v, want %v", rest, ids[1:])
		}
	})
}

// readSSE opens the feed as SSE and reads n movement events, returning
// their ids; it closes the stream afterwards.
func readSSE(t *testing.T, o *testOrigin, lastID string, n int) []string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", o.url+"/v1/stock/movements", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("SSE: %d %v", res.StatusCode, res.Header)
	}
	var ids []string
	var id, event string
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for len(ids) < n && sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			id = line[4:]
		case strings.HasPrefix(line, "event: "):
			event = line[7:]
		case strings.HasPrefix(line, "data: "):
			var m map[string]any
			if err := json.Unmarshal([]byte(line[6:]), &m); err != nil || event != "movement" || m["cursor"] != id {
				t.Fatalf("SSE event %q %q %q: %v", id, event, line, err)
			}
			ids = append(ids, id)
		}
	}
	if len(ids) < n {
		t.Fatalf("SSE ended after %d events: %v", len(ids), sc.Err())
	}
	return ids
}
