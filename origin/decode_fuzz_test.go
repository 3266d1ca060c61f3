package origin

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

var fuzzNow = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func FuzzValidateURL(f *testing.F) {
	for _, s := range []string{"https://example.com/a?b=c#d", "http://[::1]:8080/x", "javascript:alert(1)", "https://u@h.example", "https://h.example/\r\n", "http://xn--80ak6aa92e.com/", "HTTPS://EXAMPLE.COM"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		ok, why := store.ValidateURL(raw)
		if !ok {
			if why == "" {
				t.Fatal("rejection without a reason")
			}
			return
		}
		// Whatever passes is an absolute http(s) URL with a host, no
		// userinfo and nothing that could split a header.
		if len(raw) > store.MaxURLLen || strings.ContainsAny(raw, "\r\n\t \x00\x7f") {
			t.Fatalf("accepted %q", raw)
		}
		u, err := url.Parse(raw)
		if err != nil || u.User != nil || u.Hostname() == "" {
			t.Fatalf("accepted %q (%v)", raw, err)
		}
		if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
			t.Fatalf("accepted scheme %q", u.Scheme)
		}
	})
}

func FuzzDecodeCreateLink(f *testing.F) {
	for _, s := range []string{`{"url":"https://e.example"}`, `{"url":"https://e.example","code":"abc","redirect":301,"expires_at":"2031-01-01T00:00:00Z"}`, `{"url":1}`, `{`, `{"url":"https://e.example","x":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, ae := decodeCreateLink(b, fuzzNow)
		if ae != nil {
			if ae.Status != 400 || ae.Code == "" || ae.Message == "" {
				t.Fatalf("bad error %+v", ae)
			}
			return
		}
		if ok, _ := store.ValidateURL(l.URL); !ok || !store.ValidRedirect(l.Redirect) {
			t.Fatalf("accepted invalid link %+v", l)
		}
		if l.Code != "" && !keys.ValidCode(l.Code) {
			t.Fatalf("accepted invalid code %q", l.Code)
		}
		if l.ExpiresAt != nil && !l.ExpiresAt.After(fuzzNow) {
			t.Fatalf("accepted past expiry %v", l.ExpiresAt)
		}
	})
}

func FuzzDecodePatchLink(f *testing.F) {
	for _, s := range []string{`{"url":"https://e.example"}`, `{"expires_at":null}`, `{"redirect":308,"expires_at":"2031-01-01T00:00:00Z"}`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, ae := decodePatchLink(b, fuzzNow)
		if ae != nil {
			return
		}
		if p.URL == nil && p.Redirect == nil && p.ExpiresAt == nil && !p.ClearExpiry {
			t.Fatal("accepted an empty patch")
		}
		if p.URL != nil {
			if ok, _ := store.ValidateURL(*p.URL); !ok {
				t.Fatalf("accepted url %q", *p.URL)
			}
		}
		if p.Redirect != nil && !store.ValidRedirect(*p.Redirect) {
			t.Fatalf("accepted redirect %d", *p.Redirect)
		}
	})
}

func FuzzDecodeStockBodies(f *testing.F) {
	for _, s := range []string{`{"on_hand":5}`, `{"delta":-3}`, `{"on_hand":-1}`, `{"delta":1e3}`,
		`{"delta":2,"reason":"received","ref":"po-1"}`, `{"on_hand":1,"reason":"stolen"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if sb, ae := decodeSetStock(b); ae == nil && (sb.qty < 0 || sb.qty > MaxQuantity || !store.ValidReason(sb.reason)) {
			t.Fatalf("accepted %+v", sb)
		}
		if sb, ae := decodeAdjust(b); ae == nil && (sb.qty == 0 || sb.qty > MaxQuantity || sb.qty < -MaxQuantity || !store.ValidReason(sb.reason)) {
			t.Fatalf("accepted %+v", sb)
		}
	})
}

func FuzzDecodeTransfer(f *testing.F) {
	for _, s := range []string{`{"from":"a","to":"b","qty":1}`, `{"from":"a","to":"a","qty":1}`, `{"from":"a","to":"b","qty":-1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tb, ae := decodeTransfer(b)
		if ae == nil && (tb.qty < 1 || tb.qty > MaxQuantity || tb.from == tb.to || !keys.ValidWarehouse(tb.from) || !keys.ValidWarehouse(tb.to) || !store.ValidReason(tb.reason)) {
			t.Fatalf("accepted %+v", tb)
		}
	})
}

func FuzzDecodeReserve(f *testing.F) {
	for _, s := range []string{`{"sku":"S","qty":1}`, `{"sku":"S","qty":2,"warehouse":"w","ttl_seconds":60}`, `{"sku":"-","qty":1}`, `{"sku":"S","qty":0}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, ae := decodeReserve(b)
		if ae != nil {
			return
		}
		if !keys.ValidSKU(r.SKU) || r.Qty < 1 || r.Qty > MaxQuantity || r.TTL < time.Second || r.TTL > store.MaxReservationTTL {
			t.Fatalf("accepted %+v", r)
		}
		if r.Warehouse != "" && !keys.ValidWarehouse(r.Warehouse) {
			t.Fatalf("accepted warehouse %q", r.Warehouse)
		}
	})
}

func FuzzDecodeReservation(f *testing.F) {
	for _, s := range []string{`{"sku":"S","qty":1}`, `{"lines":[{"sku":"A","qty":1},{"sku":"B","qty":2,"warehouse":"w"}],"ttl_seconds":60}`, `{"lines":[]}`, `{"sku":"S","lines":[{"sku":"A","qty":1}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, lines, ae := decodeReservation(b)
		if ae != nil || lines == nil {
			return
		}
		if len(lines) == 0 || len(lines) > MaxCartLines {
			t.Fatalf("accepted %d lines", len(lines))
		}
		for _, r := range lines {
			if !keys.ValidSKU(r.SKU) || r.Qty < 1 || r.Qty > MaxQuantity || r.TTL < time.Second || r.TTL > store.MaxReservationTTL ||
				(r.Warehouse != "" && !keys.ValidWarehouse(r.Warehouse)) {
				t.Fatalf("accepted line %+v", r)
			}
		}
	})
}
