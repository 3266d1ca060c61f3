package bench

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseTopology: any bytes give either Targets every part of which is
// usable (edges, origins, an admin key, base URLs only) or an ErrTarget.
func FuzzParseTopology(f *testing.F) {
	f.Add([]byte(`{"admin_key":"k","regions":[{"name":"a","origin":"http://127.0.0.1:1","edges":["http://127.0.0.1:2"]}]}`))
	f.Add([]byte(`{"admin_key":"k","regions":[{"origin":"javascript:alert(1)","edges":["http://127.0.0.1:2"]}]}`))
	f.Add([]byte(`{"regions":[]}`))
	f.Add([]byte(`[1,2`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tg, err := ParseTopology(b)
		if err != nil {
			if !errors.Is(err, ErrTarget) {
				t.Fatalf("error %v does not wrap ErrTarget", err)
			}
			if tg.AdminKey != "" || tg.Edges != nil || tg.Origins != nil {
				t.Fatalf("error with targets %+v", tg)
			}
			return
		}
		if len(tg.Edges) == 0 || len(tg.Origins) == 0 || tg.AdminKey == "" {
			t.Fatalf("accepted incomplete targets %+v", tg)
		}
		for _, u := range append(append([]string(nil), tg.Edges...), tg.Origins...) {
			if _, _, err := parseBase(u); err != nil {
				t.Fatalf("accepted %q: %v", u, err)
			}
		}
	})
}

// FuzzParseMetrics: any scrape parses without panicking into samples with
// a name and no line breaks, and label lookups return part of the labels.
func FuzzParseMetrics(f *testing.F) {
	f.Add([]byte("# HELP x y\nshortstock_edge_origin_requests_total{endpoint=\"link\",node=\"e1\"} 12\ngo_goroutines 42\n"))
	f.Add([]byte("a{b=\"c\\\"d\",endpoint=\"z\"} 1e3\n{} 1\nx{ 2\n}{ 3\n"))
	f.Add([]byte("m NaN\nm +Inf\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, s := range parseMetrics(b) {
			if strings.ContainsAny(s.name+s.labels, "\n") {
				t.Fatalf("sample spans lines: %+v", s)
			}
			for _, name := range []string{"endpoint", "route", "status"} {
				if v := label(s.labels, name); !strings.Contains(s.labels, v) {
					t.Fatalf("label %q = %q, not within %q", name, v, s.labels)
				}
			}
		}
	})
}
