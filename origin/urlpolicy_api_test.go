package origin_test

import (
	"context"
	"testing"

	"github.com/shortstock/shortstock/origin"
)

func flagsOf(m map[string]any) []any {
	f, _ := m["flags"].([]any)
	return f
}

func TestURLPolicyAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		// DefaultConfig: private targets blocked, homographs flagged.
		o := newTestOrigin(t, b, func(c *origin.Config) { c.OwnDomains = []string{"sho.rt"} })
		m := expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://e.example/", "code": "plain"}), 201, "")
		if _, has := m["flags"]; has {
			t.Fatalf("a plain link has flags: %v", m)
		}
		m = expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://xn--80ak6aa92e.com/", "code": "apple"}), 201, "")
		if f := flagsOf(m); len(f) != 1 || f[0] != origin.FlagIDNHomograph {
			t.Fatalf("homograph not flagged on create: %v", m)
		}
		if f := flagsOf(expect(t, o.admin("GET", "/v1/links/apple", nil), 200, "")); len(f) != 1 {
			t.Fatal("homograph not flagged on read")
		}
		m = expect(t, o.admin("PATCH", "/v1/links/plain", map[string]any{"url": "https://pаypal.com/login"}), 200, "")
		if f := flagsOf(m); len(f) != 1 || f[0] != origin.FlagIDNHomograph {
			t.Fatalf("homograph not flagged on patch: %v", m)
		}
		m = expect(t, o.admin("PATCH", "/v1/links/plain", map[string]any{"url": "https://e.example/again"}), 200, "")
		if _, has := m["flags"]; has {
			t.Fatalf("flag kept after the URL changed: %v", m)
		}

		before, _ := o.store.Heads(context.Background())
		for _, u := range []string{
			"http://127.0.0.1/", "http://127.0.0.1:9090/v1/links", "http://2130706433/", "http://0x7f.1/", "http://[::1]/",
			"http://[::ffff:127.0.0.1]/", "http://localhost:8080/", "http://ｌｏｃａｌｈｏｓｔ/", "http://10.0.0.1/", "http://192.168.0.1/",
			"http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://0.0.0.0/", "http://printer.local/",
			"https://sho.rt/abc", "https://www.sho.rt/abc", "https://SHO.RT./abc", "http://1.2.3.999/", "https://xn--zz.com/",
		} {
			expect(t, o.admin("POST", "/v1/links", map[string]any{"url": u}), 400, "invalid_url")
			expect(t, o.admin("PATCH", "/v1/links/plain", map[string]any{"url": u}), 400, "invalid_url")
		}
		after, _ := o.store.Heads(context.Background())
		if sum(after) != sum(before) {
			t.Fatalf("refused targets appended %d changes", sum(after)-sum(before))
		}

		// Refusing homographs instead of flagging them.
		strict := newTestOrigin(t, b, func(c *origin.Config) { c.RejectHomographs = true })
		expect(t, strict.admin("POST", "/v1/links", map[string]any{"url": "https://e.example/", "code": "plain"}), 201, "")
		for _, u := range []string{"https://xn--80ak6aa92e.com/", "https://аррӏе.com/", "https://pаypal.com/"} {
			expect(t, strict.admin("POST", "/v1/links", map[string]any{"url": u}), 400, "suspicious_url")
			expect(t, strict.admin("PATCH", "/v1/links/plain", map[string]any{"url": u}), 400, "suspicious_url")
		}
		expect(t, strict.admin("POST", "/v1/links", map[string]any{"url": "https://münchen.de/"}), 201, "")

		// Private targets allowed when the operator says so (an intranet
		// shortener); the syntax rules still hold.
		intranet := newTestOrigin(t, b, func(c *origin.Config) { c.BlockPrivateTargets = false })
		for _, u := range []string{"http://127.0.0.1:8080/", "http://wiki.corp.internal/", "http://[fd00::1]/"} {
			expect(t, intranet.admin("POST", "/v1/links", map[string]any{"url": u}), 201, "")
		}
		expect(t, intranet.admin("POST", "/v1/links", map[string]any{"url": "javascript:alert(1)"}), 400, "invalid_url")
	})
}
