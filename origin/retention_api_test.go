package origin_test

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/wire"
	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/store"
)

// TestLedgerRetentionAPI: an origin with --ledger-retention trims in the
// background; the SKU's movements then start with one opening per
// warehouse, verify still finds the view equal to its ledger, time travel
// before the retained window is refused (400 at_before_first_movement),
// and at or after it still answers the view.
func TestLedgerRetentionAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		// The origin's clock is the test's fake (2030); the stores stamp
		// stock movements with the real clock, so every movement is older
		// than 2030 minus an hour and trimmed on the next pass.
		o := newTestOrigin(t, b, func(c *origin.Config) {
			c.LedgerRetention = time.Hour
			c.LedgerTrimInterval = 10 * time.Millisecond
		})
		expect(t, o.admin("PUT", "/v1/stock/RT-1/ams", map[string]any{"on_hand": 10}), 200, "")
		expect(t, o.admin("POST", "/v1/stock/RT-1/ams/adjust", map[string]any{"delta": 5, "reason": "received"}), 200, "")
		expect(t, o.admin("POST", "/v1/stock/RT-1/transfers", map[string]any{"from": "ams", "to": "ber", "qty": 4}), 200, "")
		time.Sleep(3 * time.Millisecond) // a later movement time (ms) for ams than for ber, not a bound
		view := expect(t, o.admin("POST", "/v1/stock/RT-1/ams/adjust", map[string]any{"delta": -1, "reason": "damaged"}), 200, "")

		var moves []any
		deadline := time.Now().Add(20 * time.Second)
		for {
			moves = expect(t, o.admin("GET", "/v1/stock/RT-1/movements", nil), 200, "")["movements"].([]any)
			if len(moves) == 2 && moves[0].(map[string]any)["kind"] == "opening" && moves[1].(map[string]any)["kind"] == "opening" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("movements never trimmed to one opening per warehouse: %v", moves)
			}
			time.Sleep(20 * time.Millisecond)
		}
		for _, m := range moves {
			mv := m.(map[string]any)
			wh := view["warehouses"].(map[string]any)[mv["warehouse"].(string)].(map[string]any)
			if mv["on_hand"] != wh["on_hand"] || mv["delta_on_hand"] != wh["on_hand"] || mv["version"].(float64) > view["version"].(float64) {
				t.Fatalf("opening %v, view %v", mv, view)
			}
		}
		if m := expect(t, o.admin("GET", "/v1/ledger/verify", nil), 200, ""); m["checked"] != 1.0 || len(m["differences"].([]any)) != 0 {
			t.Fatalf("verify after trimming: %v", m)
		}
		// ber's opening (the transfer) is older than ams's (the adjust):
		// at ber's, ams's balance is unknown, so the view is too.
		ber, _ := time.Parse(time.RFC3339Nano, moves[0].(map[string]any)["at"].(string))
		if moves[0].(map[string]any)["warehouse"] != "ber" {
			t.Fatalf("openings %v: want ber's (the older) first", moves)
		}
		expect(t, o.admin("GET", "/v1/stock/RT-1?at="+ber.Format(time.RFC3339Nano), nil), 400, "at_before_first_movement")
		expect(t, o.admin("GET", "/v1/stock/RT-1?at="+ber.Add(-time.Millisecond).Format(time.RFC3339Nano), nil), 400, "at_before_first_movement")
		got := expect(t, o.admin("GET", "/v1/stock/RT-1?at="+time.Now().Add(time.Second).Format(time.RFC3339Nano), nil), 200, "")
		if got["available"] != view["available"] || got["version"] != view["version"] {
			t.Fatalf("time travel after trimming: %v, want %v", got, view)
		}
		if m := expect(t, o.admin("POST", "/v1/stock/RT-1/rebuild", nil), 200, ""); m["rebuilt"] != false {
			t.Fatalf("rebuild after trimming: %v", m)
		}
	})
}

// TestChangeLogRetention: on a store whose change log is trimmed from
// outside (store.ChangeTrimmer: Redis), the origin's retention pass drops
// the changes older than the retention and keeps each partition's newest,
// so a reader after seq 0 sees the log start at the head. The origin's
// clock is the test's 2030; the store stamps changes with the real clock,
// so every change is past the 24 h retention.
func TestChangeLogRetention(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b, func(c *origin.Config) { c.LedgerTrimInterval = 10 * time.Millisecond })
		if _, ok := o.store.(store.ChangeTrimmer); !ok {
			t.Skip("the embedded store trims its own log (origin/embedded trim tests)")
		}
		for _, n := range []int{3, 4, 5} {
			expect(t, o.admin("PUT", "/v1/stock/CR-1/ams", map[string]any{"on_hand": n}), 200, "")
		}
		p := o.store.Partitions().PartitionOfKey(keys.Key(keys.KindStock, "CR-1"))
		path := wire.PathChanges + "?partition=" + strconv.Itoa(p) + "&after=0"
		deadline := time.Now().Add(10 * time.Second)
		for {
			r := o.do("GET", path, "", nil)
			var page change.Page
			if r.status != 200 || json.Unmarshal(r.body, &page) != nil {
				t.Fatalf("changes: %d %s", r.status, r.body)
			}
			if page.Head < 3 {
				t.Fatalf("partition %d head %d after 3 writes", p, page.Head)
			}
			if len(page.Changes) == 1 && page.First == page.Head && page.Changes[0].Seq == page.Head {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the change log was never trimmed to its newest change: %+v", page)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
