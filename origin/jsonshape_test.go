package origin

import (
	"strings"
	"testing"
)

// encoding/json keeps the last of duplicate keys and matches field names
// case-insensitively; decodeStrict refuses both, so what a proxy or a log
// reads is what is applied.
func TestDecodeStrictRefusesWhatEncodingJSONLetsThrough(t *testing.T) {
	var req reserveRequest
	for _, body := range []string{
		`{"sku":"A","qty":1,"sku":"B"}`,
		`{"sku":"A","qty":1,"SKU":"B"}`,
		`{"sku":"A","qty":1,"ſku":"B"}`,      // U+017F folds to s
		`{"sku":"A","qty":1,"\u0073ku":"B"}`, // an escape is the same key
		`{"SKU":"A","qty":1}`,
		`{"Qty":1,"sku":"A"}`,
		`{"sku":"A\ud800","qty":1}`, // lone surrogate becomes U+FFFD
		`{"sku":"A","qty":1,"warehouse":"\udc00x"}`,
		"{\"sku\":\"A\xff\",\"qty\":1}",   // invalid UTF-8
		"\ufeff{\"sku\":\"A\",\"qty\":1}", // BOM
		`{"sku":"A","qty":1}{}`,
		`{"sku":"A","qty":1} x`,
		`{"sku":"A","qty":1,}`,
		`{"sku":"A","qty":1`,
		`{"sku":"A","qty":1]`,
		`{"sku":"A","qty":[1,{"a":1,"a":2}]}`,
		`{"sku":"A","qty":` + strings.Repeat("[", 20000),
		`{"sku":"A","qty":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`,
	} {
		if ae := decodeStrict([]byte(body), &req); ae == nil || ae.Code != "invalid_json" || ae.Status != 400 {
			t.Errorf("%.60q: %+v, want 400 invalid_json", body, ae)
		}
	}
	for _, body := range []string{
		`{"sku":"A","qty":1}`,
		` {"sku" : "A", "qty" : 1 } `,
		`{"\u0073ku":"A","qty":1}`, // escaped, but exactly "sku"
		`{"sku":"A","qty":1,"warehouse":"w","ttl_seconds":60}`,
	} {
		if ae := decodeStrict([]byte(body), &req); ae != nil {
			t.Errorf("%q refused: %v", body, ae)
		}
	}
	// Nested objects may repeat keys of other levels, not their own.
	var patch struct {
		ExpiresAt []map[string]any `json:"expires_at"`
	}
	if ae := decodeStrict([]byte(`{"expires_at":[{"a":1,"b":{"a":2}},{"a":3}]}`), &patch); ae != nil {
		t.Errorf("distinct nested keys refused: %v", ae)
	}
}

func TestJSONFields(t *testing.T) {
	f := jsonFields(&createLinkRequest{})
	// The extras are an embedded struct: its fields are the body's.
	want := []string{"url", "code", "redirect", "expires_at", "tags", "title", "max_visits", "valid_since", "forward_query", "targets"}
	for _, n := range want {
		if !f[n] {
			t.Errorf("missing %s in %v", n, f)
		}
	}
	if len(f) != len(want) || len(jsonFields(&struct{}{})) != 0 {
		t.Fatalf("fields %v", f)
	}
}
