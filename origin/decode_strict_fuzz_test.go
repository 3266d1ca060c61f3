package origin

import (
	"encoding/json"
	"net/http"
	"testing"
)

// FuzzDecodeStrict: no panics; every refusal is a 400 invalid_json; what
// it accepts has no duplicate keys and only exact field names, as
// encoding/json reads them.
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{`{"sku":"A","qty":1}`, `{"sku":"A","sku":"B"}`, `{"SKU":"A"}`, `{"sku":"\ud800"}`, `{"qty":1e400}`, "\ufeff{}", `{"a":[{"b":1,"b":2}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var req reserveRequest
		ae := decodeStrict(b, &req)
		if ae != nil {
			if ae.Status != http.StatusBadRequest || ae.Code != "invalid_json" || ae.Message == "" {
				t.Fatalf("bad error %+v", ae)
			}
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("accepted %q that is not an object: %v", b, err)
		}
		fields := jsonFields(&req)
		seen := map[string]bool{}
		for k := range m {
			if !fields[k] {
				t.Fatalf("accepted field %q", k)
			}
			if seen[foldKey(k)] {
				t.Fatalf("accepted duplicate %q", k)
			}
			seen[foldKey(k)] = true
		}
	})
}
