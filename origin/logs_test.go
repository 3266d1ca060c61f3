package origin_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/shortstock/shortstock/internal/testutil"
	"github.com/shortstock/shortstock/internal/wire"
	"github.com/shortstock/shortstock/origin"
)

// secretForms are the ways a secret could show up in a log: as is, in
// base64 (every alphabet), hex, percent-encoded, its SHA-256 (which would
// allow guessing a weak key offline), and any 12-byte piece of it.
func secretForms(secret string) []string {
	d := sha256.Sum256([]byte(secret))
	forms := []string{
		secret,
		base64.StdEncoding.EncodeToString([]byte(secret)),
		base64.RawStdEncoding.EncodeToString([]byte(secret)),
		base64.URLEncoding.EncodeToString([]byte(secret)),
		base64.RawURLEncoding.EncodeToString([]byte(secret)),
		hex.EncodeToString([]byte(secret)),
		strings.ToUpper(hex.EncodeToString([]byte(secret))),
		url.QueryEscape(secret),
		hex.EncodeToString(d[:]),
		base64.StdEncoding.EncodeToString(d[:]),
		base64.RawURLEncoding.EncodeToString(d[:]),
	}
	for i := 0; i+12 <= len(secret); i += 4 {
		forms = append(forms, secret[i:i+12])
	}
	return forms
}

// No key is ever written to a log: not on success, failure, 403, 429, a
// storage failure, or with the log level at debug, in JSON or text.
func TestKeysNeverLogged(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		var logs testutil.LockedBuffer
		opts := &slog.HandlerOptions{Level: slog.LevelDebug}
		logger := slog.New(slog.NewMultiHandler(slog.NewJSONHandler(&logs, opts), slog.NewTextHandler(&logs, opts)))
		token := wire.ClusterToken([]byte("a-cluster-secret-for-this-test"))
		o := newTestOrigin(t, b, withScopedKeys, behindProxy, func(c *origin.Config) {
			c.Logger = logger
			c.ClusterToken, c.InternalInsecure = token, false
			c.AuthFailureBurst = 5
			c.KeyBurst = 50
		})
		secrets := []string{testKey, linksKey, readKey, digestKey, token}
		guess := "guessed-key-" + strings.Repeat("z", 16)
		secrets = append(secrets, guess)

		// Successes, with every key.
		for _, k := range []string{testKey, linksKey, readKey, digestKey} {
			expect(t, o.do("GET", "/v1/links/missing", k, nil), 404, "not_found")
		}
		expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://e.example/", "code": "logged"}), 201, "")
		// Failures: near misses, other schemes, the key where it does not
		// belong.
		for _, k := range []string{testKey + "x", testKey[:len(testKey)-1], strings.ToUpper(testKey), guess, " " + linksKey + " x"} {
			expect(t, o.do("GET", "/v1/links/logged", k, nil), 401, "unauthorized")
		}
		expect(t, o.do("GET", "/v1/links/logged", "", nil, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("admin:"+testKey))), 429, "rate_limited")
		expect(t, o.do("GET", "/v1/links/logged", "", nil, "Authorization", "Basic "+testKey, "X-Forwarded-For", "192.0.2.1"), 401, "unauthorized")
		expect(t, o.do("GET", "/v1/links/"+url.PathEscape(guess), "", nil, "X-Forwarded-For", "192.0.2.2"), 401, "unauthorized")
		// Scopes, bodies, internal API.
		expect(t, o.do("DELETE", "/v1/links/logged", readKey, nil, "X-Forwarded-For", "192.0.2.3"), 403, "forbidden")
		expect(t, o.do("POST", "/v1/links", testKey, `{"url":"`+testKey+`"}`, "X-Forwarded-For", "192.0.2.3"), 400, "invalid_url")
		expect(t, o.do("GET", "/internal/v1/heads", token, nil), 200, "")
		expect(t, o.do("GET", "/internal/v1/heads", token+"x", nil), 401, "unauthorized")
		// Storage failing: the origin logs the error of a 5xx.
		o.store.Close()
		r := o.do("GET", "/v1/links/logged", testKey, nil, "X-Forwarded-For", "192.0.2.4")
		if r.status < 500 {
			t.Fatalf("closed store: %d %s", r.status, r.body)
		}

		out := logs.String()
		for _, want := range []string{"admin auth failed", "refusing it for a while", "request failed"} {
			if !strings.Contains(out, want) {
				t.Fatalf("expected log line %q missing (the test would prove nothing); logs:\n%s", want, out)
			}
		}
		for _, s := range secrets {
			for _, f := range secretForms(s) {
				if strings.Contains(out, f) {
					t.Fatalf("log output holds a form (%q) of a secret:\n%s", f, out)
				}
			}
		}
	})
}
