package origin_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/shortstock/shortstock/origin"
)

const (
	linksKey     = "scoped-links-key-0123456789"
	stockKey     = "scoped-stock-key-0123456789"
	readKey      = "scoped-read-key-0123456789"
	readLinksKey = "scoped-read-links-key-0123"
	digestKey    = "given-by-digest-key-0123456789"
)

// withScopedKeys adds one key per scope mix next to testKey (all scopes),
// through each of the ways an operator can give them.
func withScopedKeys(c *origin.Config) {
	must := func(k origin.AdminKey, err error) origin.AdminKey {
		if err != nil {
			panic(err)
		}
		return k
	}
	d := sha256.Sum256([]byte(digestKey))
	c.ScopedAdminKeys = []origin.AdminKey{
		must(origin.ParseAdminKey(linksKey + ":links")),
		must(origin.ParseAdminKey(stockKey + ":stock")),
		origin.NewAdminKey(readKey, origin.ScopeRead),
		must(origin.ParseAdminKey(readLinksKey + ":read+links")),
		must(origin.ParseAdminKeySHA256(hex.EncodeToString(d[:]) + ":links")),
	}
}

func TestScopesAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b, withScopedKeys)
		expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://e.example/keep", "code": "keep"}), 201, "")
		expect(t, o.admin("PUT", "/v1/stock/S/w", map[string]any{"on_hand": 10}), 200, "")
		hold := expect(t, o.admin("POST", "/v1/reservations", map[string]any{"sku": "S", "qty": 1}), 201, "")
		held := "/v1/reservations/" + hold["id"].(string)

		// What each key may do.
		for _, tc := range []struct {
			key, method, path string
			body              any
			status            int
		}{
			{linksKey, "GET", "/v1/links/keep", nil, 200},
			{linksKey, "GET", "/v1/links/keep/stats", nil, 200},
			{linksKey, "POST", "/v1/links", map[string]any{"url": "https://e.example/l"}, 201},
			{linksKey, "PATCH", "/v1/links/keep", map[string]any{"redirect": 301}, 200},
			{stockKey, "GET", "/v1/stock/S", nil, 200},
			{stockKey, "PUT", "/v1/stock/S/w", map[string]any{"on_hand": 12}, 200},
			{stockKey, "POST", "/v1/stock/S/w/adjust", map[string]any{"delta": 1}, 200},
			{stockKey, "GET", held, nil, 200},
			{readKey, "GET", "/v1/links/keep", nil, 200},
			{readKey, "GET", "/v1/links/keep/stats", nil, 200},
			{readKey, "GET", "/v1/stock/S", nil, 200},
			{readKey, "GET", held, nil, 200},
			{readKey, "GET", "/v1/nope", nil, 404},
			{readLinksKey, "GET", "/v1/stock/S", nil, 200},
			{readLinksKey, "POST", "/v1/links", map[string]any{"url": "https://e.example/rl"}, 201},
			{digestKey, "GET", "/v1/links/keep", nil, 200},
			{digestKey, "POST", "/v1/links", map[string]any{"url": "https://e.example/d"}, 201},
		} {
			r := o.do(tc.method, tc.path, tc.key, tc.body)
			if r.status != tc.status {
				t.Fatalf("%s %s with the %s key: %d, want %d; %s", tc.method, tc.path, tc.key, r.status, tc.status, r.body)
			}
		}

		before, _ := o.store.Heads(context.Background())
		link := expect(t, o.admin("GET", "/v1/links/keep", nil), 200, "")
		stock := expect(t, o.admin("GET", "/v1/stock/S", nil), 200, "")
		// What each key may not: 403 forbidden, and nothing changes.
		for _, tc := range []struct {
			key, method, path string
			body              any
		}{
			{linksKey, "GET", "/v1/stock/S", nil},
			{linksKey, "PUT", "/v1/stock/S/w", map[string]any{"on_hand": 1}},
			{linksKey, "POST", "/v1/reservations", map[string]any{"sku": "S", "qty": 1}},
			{linksKey, "POST", held + "/commit", nil},
			{linksKey, "GET", held, nil},
			{stockKey, "GET", "/v1/links/keep", nil},
			{stockKey, "POST", "/v1/links", map[string]any{"url": "https://e.example/s"}},
			{stockKey, "PATCH", "/v1/links/keep", map[string]any{"redirect": 308}},
			{stockKey, "DELETE", "/v1/links/keep", nil},
			{readKey, "POST", "/v1/links", map[string]any{"url": "https://e.example/r"}},
			{readKey, "PATCH", "/v1/links/keep", map[string]any{"redirect": 308}},
			{readKey, "DELETE", "/v1/links/keep", nil},
			{readKey, "PUT", "/v1/stock/S/w", map[string]any{"on_hand": 1}},
			{readKey, "POST", "/v1/stock/S/w/adjust", map[string]any{"delta": -1}},
			{readKey, "POST", "/v1/reservations", map[string]any{"sku": "S", "qty": 1}},
			{readKey, "POST", held + "/commit", nil},
			{readKey, "POST", held + "/release", nil},
			{readLinksKey, "PUT", "/v1/stock/S/w", map[string]any{"on_hand": 1}},
			{readLinksKey, "POST", held + "/release", nil},
			{digestKey, "GET", "/v1/stock/S", nil},
		} {
			expect(t, o.do(tc.method, tc.path, tc.key, tc.body), 403, "forbidden")
		}
		after, _ := o.store.Heads(context.Background())
		if sum(after) != sum(before) {
			t.Fatalf("forbidden requests appended %d changes", sum(after)-sum(before))
		}
		if m := expect(t, o.admin("GET", "/v1/links/keep", nil), 200, ""); m["version"] != link["version"] {
			t.Fatalf("link changed: %v -> %v", link, m)
		}
		if m := expect(t, o.admin("GET", "/v1/stock/S", nil), 200, ""); m["version"] != stock["version"] {
			t.Fatalf("stock changed: %v -> %v", stock, m)
		}
		if m := expect(t, o.admin("GET", held, nil), 200, ""); m["status"] != "held" {
			t.Fatalf("reservation changed: %v", m)
		}
		// A wrong key is still 401, not 403: scopes come after the key.
		expect(t, o.do("GET", "/v1/links/keep", readKey+"x", nil), 401, "unauthorized")
	})
}

func TestScopedConfigValidated(t *testing.T) {
	st := backends[0].open(t)
	defer st.Close()
	for name, mutate := range map[string]func(*origin.Config){
		"no keys":        func(c *origin.Config) { c.AdminKeys = nil },
		"no scopes":      func(c *origin.Config) { c.ScopedAdminKeys = []origin.AdminKey{origin.NewAdminKey(readKey, 0)} },
		"unknown scopes": func(c *origin.Config) { c.ScopedAdminKeys = []origin.AdminKey{origin.NewAdminKey(readKey, 1<<7)} },
		"empty key":      func(c *origin.Config) { c.ScopedAdminKeys = []origin.AdminKey{origin.NewAdminKey("", origin.ScopeAll)} },
		"zero AdminKey":  func(c *origin.Config) { c.ScopedAdminKeys = []origin.AdminKey{{Scopes: origin.ScopeRead}} },
		"short key":      func(c *origin.Config) { c.AdminKeys = []string{"short"} },
		"NaN rate":       func(c *origin.Config) { c.KeyRate = nan() },
		"negative burst": func(c *origin.Config) { c.IPBurst = -1 },
		"own domain":     func(c *origin.Config) { c.OwnDomains = []string{"https://sho.rt/"} },
		"tracked IPs":    func(c *origin.Config) { c.MaxTrackedIPs = -5 },
	} {
		cfg := origin.DefaultConfig()
		cfg.Store, cfg.AdminKeys, cfg.InternalInsecure = st, []string{testKey}, true
		mutate(&cfg)
		if srv, err := origin.New(cfg); err == nil {
			srv.Close()
			t.Errorf("%s: accepted", name)
		}
	}
	// Scoped keys alone are enough.
	cfg := origin.DefaultConfig()
	cfg.Store, cfg.InternalInsecure = st, true
	withScopedKeys(&cfg)
	srv, err := origin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
}
