package edge

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestNewRejectsBadConfigWithoutPanicking(t *testing.T) {
	base := func() Config {
		c := DefaultConfig()
		c.Origins = []string{"http://127.0.0.1:1"}
		c.Logger = quietLogger()
		return c
	}
	for name, mutate := range map[string]func(*Config){
		"no origins":       func(c *Config) { c.Origins = nil },
		"bad scheme":       func(c *Config) { c.Origins = []string{"ftp://x"} },
		"no host":          func(c *Config) { c.Origins = []string{"http://"} },
		"path":             func(c *Config) { c.Origins = []string{"http://x/api"} },
		"not a URL":        func(c *Config) { c.Origins = []string{"http://[::1"} },
		"tiny cache":       func(c *Config) { c.CacheBytes = 100 },
		"negative timeout": func(c *Config) { c.OriginTimeout = -time.Second },
		"negative grace":   func(c *Config) { c.StaleGrace = -1 },
		"fast flush":       func(c *Config) { c.ClickFlushInterval = time.Microsecond },
		"fast poll":        func(c *Config) { c.HeadsPollInterval = time.Microsecond },
		"small buffer":     func(c *Config) { c.ReadBufferSize = 10 },
		"negative body":    func(c *Config) { c.MaxRequestBodySize = -1 },
	} {
		cfg := base()
		mutate(&cfg)
		s, err := New(cfg)
		if !errors.Is(err, ErrConfig) || s != nil {
			t.Errorf("%s: New = %v, %v; want ErrConfig", name, s, err)
		}
	}
}

func TestDefaultsFillZeroFields(t *testing.T) {
	s, err := New(Config{Origins: []string{"http://127.0.0.1:1"}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := DefaultConfig()
	if s.cfg.OriginTimeout != d.OriginTimeout || s.cfg.CacheBytes != d.CacheBytes || s.cfg.HeadsPollInterval != 0 || s.cfg.ReadBufferSize != d.ReadBufferSize {
		t.Fatalf("filled config %+v", s.cfg)
	}
}

func TestParseOrigin(t *testing.T) {
	for raw, want := range map[string]string{
		"http://127.0.0.1:9090": "127.0.0.1:9090", "http://o.example": "o.example:80",
		"https://o.example": "o.example:443", "http://[::1]:9090/": "[::1]:9090",
	} {
		if addr, _, err := parseOrigin(raw); err != nil || addr != want {
			t.Errorf("parseOrigin(%q) = %q, %v; want %q", raw, addr, err, want)
		}
	}
}

// TestShutdownHonoursDeadline: a request stuck on a hung origin does not
// hold Shutdown past its context.
func TestShutdownHonoursDeadline(t *testing.T) {
	o := newFakeOrigin(t)
	o.delay = 3 * time.Second
	o.putLink("slow", "https://example.com", 302)
	e := newTestEdge(t, []string{o.url}, func(c *Config) { c.OriginTimeout = 5 * time.Second })
	go e.client.Get(nil, "http://edge/slow") //nolint:errcheck // cut off by the shutdown
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := e.srv.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("Shutdown = %v after %v; want the deadline error promptly", err, time.Since(start))
	}
	// Close finishes the job once the request is done, and is idempotent.
	if err := e.srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := e.srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
