package origin

import (
	"bytes"
	"testing"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// FuzzParseBulk: any body parses without panicking; every line is either
// a valid job line (what the store would accept) or a numbered failure,
// and the counts add up.
func FuzzParseBulk(f *testing.F) {
	for _, s := range []string{
		`{"op":"set","sku":"a","warehouse":"w","on_hand":1}`,
		"{\"op\":\"adjust\",\"sku\":\"a\",\"warehouse\":\"w\",\"delta\":-2,\"reason\":\"sold\"}\r\n\n{\"op\":\"transfer\",\"sku\":\"a\",\"from\":\"w\",\"to\":\"x\",\"qty\":3}",
		"x\n{}\n{\"op\":\"set\"}", "\n\n\n", `{"op":"transfer","sku":"a","warehouse":"w","to":"w","qty":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, ae := parseBulk(body)
		if ae != nil {
			if ae != errTooManyLines {
				t.Fatalf("whole-body error %v", ae)
			}
			return
		}
		if int64(len(p.valid))+p.failed != p.lines || int64(len(p.errs)) > p.failed || len(p.errs) > store.MaxJobErrors {
			t.Fatalf("counts: %d lines, %d valid, %d failed, %d errors", p.lines, len(p.valid), p.failed, len(p.errs))
		}
		if p.lines > int64(bytes.Count(body, []byte("\n"))+1) {
			t.Fatalf("%d lines in a body of %d newlines", p.lines, bytes.Count(body, []byte("\n")))
		}
		last := int64(0)
		for _, l := range p.valid {
			w := l.Write("job", "actor")
			if err := w.Check(); err != nil || !keys.ValidSKU(l.SKU) || !keys.ValidWarehouse(l.Warehouse) || l.Line <= last {
				t.Fatalf("accepted line %+v: %v", l, err)
			}
			last = l.Line
		}
		for _, e := range p.errs {
			if e.Line < 1 || e.Error == "" || e.Message == "" {
				t.Fatalf("bad failure %+v", e)
			}
		}
	})
}

// FuzzFastBulkLine: the fast line parser is only a shortcut. Whatever it
// accepts, decodeStrict accepts with the same fields.
func FuzzFastBulkLine(f *testing.F) {
	for _, s := range []string{
		`{"op":"set","sku":"a","warehouse":"w","on_hand":1}`, `{"op":"adjust","delta":-0}`, `{"OP":"set"}`,
		`{"op":"a","op":"b"}`, `{"qty":01}`, `{"qty":1.5}`, `{"ref":"\u0041"}`, `{}`, ` { "to" : "x" } `, `{"to":"x"}x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		fast, ok := fastBulkLine(line)
		if !ok {
			return
		}
		var slow bulkLine
		if ae := decodeStrict(line, &slow); ae != nil {
			t.Fatalf("fast path accepted %q, decodeStrict refused it: %v", line, ae.Message)
		}
		eqs := func(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
		eqn := func(a, b *int64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
		if !eqs(fast.Op, slow.Op) || !eqs(fast.SKU, slow.SKU) || !eqs(fast.Warehouse, slow.Warehouse) || !eqs(fast.From, slow.From) ||
			!eqs(fast.To, slow.To) || !eqs(fast.Reason, slow.Reason) || !eqs(fast.Ref, slow.Ref) ||
			!eqn(fast.OnHand, slow.OnHand) || !eqn(fast.Delta, slow.Delta) || !eqn(fast.Qty, slow.Qty) {
			t.Fatalf("fast and strict parses of %q differ", line)
		}
	})
}
