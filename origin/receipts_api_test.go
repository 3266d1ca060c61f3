package origin_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/wire"
)

// TestChangeIDsAndReceipts: every link and stock write names its change;
// the receipt lists the edges that report to the origin, applied or
// pending by their watermarks, and "unknown" once an edge falls silent.
func TestChangeIDsAndReceipts(t *testing.T) {
	o := newTestOrigin(t, backends[0])
	id := o.admin("POST", "/v1/links", map[string]any{"url": "https://example.com/a", "code": "rcpt"}).header.Get("X-Change-Id")
	if id != "l:rcpt@1" {
		t.Fatalf("create: X-Change-Id %q, want l:rcpt@1", id)
	}
	if id := o.admin("PATCH", "/v1/links/rcpt", map[string]any{"url": "https://example.com/b"}).header.Get("X-Change-Id"); id != "l:rcpt@2" {
		t.Fatalf("patch: X-Change-Id %q", id)
	}
	if id := o.admin("PUT", "/v1/stock/SKU.1/w", map[string]any{"on_hand": 3}).header.Get("X-Change-Id"); id != "s:SKU.1@1" {
		t.Fatalf("set stock: X-Change-Id %q", id)
	}
	if id := o.admin("POST", "/v1/stock/SKU.1/w/adjust", map[string]any{"delta": 2}).header.Get("X-Change-Id"); id != "s:SKU.1@2" {
		t.Fatalf("adjust: X-Change-Id %q", id)
	}
	if id := o.admin("DELETE", "/v1/links/rcpt", nil).header.Get("X-Change-Id"); id != "l:rcpt@3" {
		t.Fatalf("delete: X-Change-Id %q", id)
	}
	// Reservations: hold and release each bump the SKU's version.
	hold := o.admin("POST", "/v1/reservations", map[string]any{"sku": "SKU.1", "qty": 1})
	if id := hold.header.Get("X-Change-Id"); id != "s:SKU.1@3" {
		t.Fatalf("reserve: X-Change-Id %q, want s:SKU.1@3", id)
	}
	resID, _ := hold.json(t)["id"].(string)
	if id := o.admin("POST", "/v1/reservations/"+resID+"/release", nil).header.Get("X-Change-Id"); id != "s:SKU.1@4" {
		t.Fatalf("release: X-Change-Id %q, want s:SKU.1@4", id)
	}
	if id := o.admin("GET", "/v1/reservations/"+resID, nil).header.Get("X-Change-Id"); id != "" {
		t.Fatalf("a read answered X-Change-Id %q", id)
	}
	for _, bad := range []string{"nope", "l:rcpt@x", "l:rcpt@0", "x:rcpt@1", "l:bad%20code@1"} {
		expect(t, o.admin("GET", "/v1/changes/"+bad, nil), 400, "invalid_change_id")
	}
	expect(t, o.do("GET", "/v1/changes/l:rcpt@2", "", nil), 401, "")

	report := func(edge string, seq uint64) {
		t.Helper()
		p := keys.DefaultSpace().PartitionOfKey("l:rcpt")
		r := o.do("POST", wire.PathApplied, "", wire.Applied{Region: "r1", Edge: edge, Partitions: []wire.AppliedUpTo{{P: p, Seq: seq}}})
		if r.status != http.StatusNoContent {
			t.Fatalf("applied report: %d %s", r.status, r.body)
		}
	}
	// Wait for the tailer to read the last change: the receipt has a
	// commit time once it has.
	var rc map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for {
		rc = expect(t, o.admin("GET", "/v1/changes/l:rcpt@3", nil), 200, "")
		if rc["committed_at"] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("change never read from the log: %v", rc)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if rc = expect(t, o.admin("GET", "/v1/changes/l:rcpt@2", nil), 200, ""); rc["complete"] != true || rc["committed_at"] == nil {
		t.Fatalf("no edges known: receipt %v, want complete", rc)
	}
	// The link's partition holds its three changes at seqs 1..3 (a fresh
	// store; no other key of this test shares the partition).
	report("e1", 1)
	report("e2", 2)
	rc = expect(t, o.admin("GET", "/v1/changes/l:rcpt@2", nil), 200, "")
	if rc["complete"] != false || fmt.Sprint(rc["pending"]) != "[r1/e1]" {
		t.Fatalf("e1 behind: receipt %v, want incomplete, pending [r1/e1]", rc)
	}
	report("e1", 3)
	rc = expect(t, o.admin("GET", "/v1/changes/l:rcpt@2", nil), 200, "")
	if rc["complete"] != true {
		t.Fatalf("both applied: %v", rc)
	}
	for _, e := range rc["edges"].([]any) {
		if m := e.(map[string]any); m["state"] != "applied" || m["applied_at"] == nil {
			t.Fatalf("edge %v", m)
		}
	}
	// e2 falls silent (past the live window): it holds @3 back no more.
	rc = expect(t, o.admin("GET", "/v1/changes/l:rcpt@3", nil), 200, "")
	if rc["complete"] != false {
		t.Fatalf("e2 behind on @3: %v", rc)
	}
	o.clock.Advance(4 * time.Second)
	report("e1", 3)
	rc = expect(t, o.admin("GET", "/v1/changes/l:rcpt@3", nil), 200, "")
	if rc["complete"] != true {
		t.Fatalf("e2 silent past the live window: %v, want complete", rc)
	}
	for _, e := range rc["edges"].([]any) {
		if m := e.(map[string]any); m["edge"] == "e2" && (m["state"] != "unknown" || m["applied_at"] != nil) {
			t.Fatalf("silent edge: %v, want unknown with applied_at null", m)
		}
	}
}

// TestPurgeAPI: bad purges are refused and log nothing; a good one is
// logged per key as a purge change (published like a write) and its
// receipt waits for every reported edge.
func TestPurgeAPI(t *testing.T) {
	o := newTestOrigin(t, backends[0])
	for _, c := range []struct{ body, code string }{
		{`{}`, "invalid_purge"},
		{`{"keys":[]}`, "invalid_purge"},
		{`{"keys":["abc"]}`, "invalid_key"},
		{`{"keys":["link:bad code"]}`, "invalid_key"},
		{`{"keys":["link:a"],"all":true}`, "invalid_purge"},
		{`{"tags":["bad tag"]}`, "invalid_tag"},
		{`{"tags":[""]}`, "invalid_tag"},
		{`{"tags":["` + strings.Repeat("t", 33) + `"]}`, "invalid_tag"},
		{`{"tags":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"]}`, "invalid_purge"},
		{`{"tags":["a"],"all":true}`, "invalid_purge"},
		{`{"keys":["link:a"],"hard":true}`, "invalid_json"},
	} {
		expect(t, o.admin("POST", "/v1/purge", c.body), 400, c.code)
	}
	expect(t, o.do("POST", "/v1/purge", "", `{"all":true}`), 401, "")

	r := o.admin("POST", "/v1/purge", `{"keys":["link:abc","sku:SKU-1","link:abc"],"soft":true}`)
	m := expect(t, r, 202, "")
	id, _ := m["change_id"].(string)
	if len(id) != len("purge-")+16 || r.header.Get("X-Change-Id") != id {
		t.Fatalf("purge answered %v, X-Change-Id %q", m, r.header.Get("X-Change-Id"))
	}
	var got []change.Change
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("purges published: %+v, want 2", got)
		}
		time.Sleep(5 * time.Millisecond)
		o.mu.Lock()
		got = got[:0]
		for _, c := range o.published {
			if c.Purge != 0 {
				got = append(got, c)
			}
		}
		o.mu.Unlock()
	}
	for _, c := range got {
		if c.Purge != change.PurgeSoft || c.Version != 0 || (c.Key != "l:abc" && c.Key != "s:SKU-1") {
			t.Fatalf("published purge %+v", c)
		}
	}
	report := func(c change.Change) {
		t.Helper()
		r := o.do("POST", wire.PathApplied, "", wire.Applied{Region: "r1", Edge: "e1", Partitions: []wire.AppliedUpTo{{P: c.Partition, Seq: c.Seq}}})
		if r.status != http.StatusNoContent {
			t.Fatalf("report: %d", r.status)
		}
	}
	report(change.Change{Partition: got[0].Partition, Seq: got[0].Seq})
	if rc := expect(t, o.admin("GET", "/v1/changes/"+id, nil), 200, ""); rc["complete"] != false {
		t.Fatalf("one of two purged keys applied: %v", rc)
	}
	report(change.Change{Partition: got[1].Partition, Seq: got[1].Seq})
	if rc := expect(t, o.admin("GET", "/v1/changes/"+id, nil), 200, ""); rc["complete"] != true {
		t.Fatalf("both applied: %v", rc)
	}
}
