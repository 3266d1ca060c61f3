package origin_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/wire"
	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/embedded"
)

// New refuses an internal API without a token unless InternalInsecure says
// so, short tokens, and a token together with InternalInsecure.
func TestClusterTokenRequired(t *testing.T) {
	st, err := embedded.Open(embedded.DefaultConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	good := wire.ClusterToken([]byte("s"))
	for name, c := range map[string]struct {
		mutate func(*origin.Config)
		want   error
	}{
		"none":              {func(c *origin.Config) {}, origin.ErrNoClusterToken},
		"short":             {func(c *origin.Config) { c.ClusterToken = "0123456789" }, origin.ErrClusterTokenTooShort},
		"short next":        {func(c *origin.Config) { c.ClusterToken, c.ClusterTokens = good, []string{"x"} }, origin.ErrClusterTokenTooShort},
		"next without main": {func(c *origin.Config) { c.ClusterTokens = []string{good} }, nil},
		"both ways":         {func(c *origin.Config) { c.ClusterToken, c.InternalInsecure = good, true }, nil},
		"bad rate":          {func(c *origin.Config) { c.ClusterToken, c.InternalBurst = good, -1 }, nil},
	} {
		cfg := origin.DefaultConfig()
		cfg.Store, cfg.AdminKeys = st, []string{testKey}
		c.mutate(&cfg)
		srv, err := origin.New(cfg)
		if err == nil {
			srv.Close()
			t.Errorf("%s: accepted", name)
			continue
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
		if strings.Contains(err.Error(), good) {
			t.Errorf("%s: the error quotes the token", name)
		}
	}
	for name, mutate := range map[string]func(*origin.Config){
		"token":    func(c *origin.Config) { c.ClusterToken = good },
		"insecure": func(c *origin.Config) { c.InternalInsecure = true },
	} {
		cfg := origin.DefaultConfig()
		cfg.Store, cfg.AdminKeys = st, []string{testKey}
		mutate(&cfg)
		srv, err := origin.New(cfg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		srv.Close()
	}
}

// The internal API has its own per-IP budget, and a failed-authentication
// budget that, once spent, refuses even the right token (429 before any
// token is compared), so guessing costs time.
func TestInternalAPIRateLimits(t *testing.T) {
	b := backends[0]
	token := wire.ClusterToken([]byte("cluster-secret"))
	t.Run("requests", func(t *testing.T) {
		o := newTestOrigin(t, b, func(c *origin.Config) {
			c.ClusterToken, c.InternalInsecure = token, false
			c.InternalRate, c.InternalBurst = 1, 3
		})
		for i := 0; i < 3; i++ {
			expect(t, o.do("GET", "/internal/v1/heads", token, nil), 200, "")
		}
		r := o.do("GET", "/internal/v1/heads", token, nil)
		expect(t, r, 429, "rate_limited")
		if r.header.Get("Retry-After") != "1" {
			t.Fatalf("Retry-After %q, want 1", r.header.Get("Retry-After"))
		}
		// The admin API's budget is apart.
		expect(t, o.admin("GET", "/v1/links/none", nil), 404, "not_found")
		o.clock.Advance(time.Second)
		expect(t, o.do("GET", "/internal/v1/heads", token, nil), 200, "")
	})
	t.Run("failed authentications", func(t *testing.T) {
		o := newTestOrigin(t, b, func(c *origin.Config) {
			c.ClusterToken, c.InternalInsecure = token, false
			c.AuthFailureRate, c.AuthFailureBurst = 1, 3
		})
		for i := 0; i < 3; i++ {
			expect(t, o.do("GET", "/internal/v1/heads", "guess-"+wire.ClusterToken([]byte{byte(i)}), nil), 401, "unauthorized")
		}
		expect(t, o.do("GET", "/internal/v1/heads", token, nil), 429, "rate_limited")
		o.clock.Advance(time.Second)
		expect(t, o.do("GET", "/internal/v1/heads", token, nil), 200, "")
		// A good token gives its failure token back: a busy edge never
		// runs out.
		for i := 0; i < 10; i++ {
			expect(t, o.do("GET", "/internal/v1/heads", token, nil), 200, "")
		}
	})
}
