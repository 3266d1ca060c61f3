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
