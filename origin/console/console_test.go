package console_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shortstock/shortstock/origin/console"
)

func get(t *testing.T, h http.Handler, path string, hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

// TestServesAppWithStrictHeaders: the app and its files are served with
// the right types and every answer, 404s and redirects included, carries
// the strict CSP, X-Frame-Options: DENY and nosniff.
func TestServesAppWithStrictHeaders(t *testing.T) {
	h := console.New()
	check := func(res *http.Response) {
		t.Helper()
		if got := res.Header.Get("Content-Security-Policy"); got != console.CSP {
			t.Fatalf("CSP %q", got)
		}
		for _, d := range []string{"script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'none'", "default-src 'none'"} {
			if !strings.Contains(console.CSP, d) {
				t.Fatalf("CSP lacks %s", d)
			}
		}
		if strings.Contains(console.CSP, "unsafe-") {
			t.Fatalf("CSP allows unsafe code: %s", console.CSP)
		}
		if res.Header.Get("X-Frame-Options") != "DENY" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("headers %v", res.Header)
		}
	}
	for path, ctype := range map[string]string{
		"/console/":           "text/html; charset=utf-8",
		"/console/app.js":     "text/javascript; charset=utf-8",
		"/console/links.js":   "text/javascript; charset=utf-8",
		"/console/style.css":  "text/css; charset=utf-8",
		"/console/index.html": "text/html; charset=utf-8",
	} {
		res := get(t, h, path)
		check(res)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != ctype {
			t.Fatalf("%s: %d %q", path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		b, _ := io.ReadAll(res.Body)
		if len(b) == 0 {
			t.Fatalf("%s: empty", path)
		}
		etag := res.Header.Get("ETag")
		if res := get(t, h, path, "If-None-Match", etag); res.StatusCode != http.StatusNotModified {
			t.Fatalf("%s with its ETag: %d, want 304", path, res.StatusCode)
		}
	}
	res := get(t, h, "/console/nope.js")
	check(res)
	if res.StatusCode != 404 {
		t.Fatalf("unknown file: %d", res.StatusCode)
	}
	res = get(t, h, "/console")
	check(res)
	if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/console/" {
		t.Fatalf("/console: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

// TestNoInlineCodeNoHTMLSinks reads the app's sources: no inline script or
// style (the CSP would block them anyway, silently), no inline event
// handlers, and no HTML sinks (innerHTML and friends), so data can only
// ever become text. A guard for whoever edits the console next.
func TestNoInlineCodeNoHTMLSinks(t *testing.T) {
	sinks := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|createContextualFragment|\beval\(|new Function|setHTMLUnsafe|javascript:`)
	inlineScript := regexp.MustCompile(`(?i)<script(\s[^>]*)?>\s*[^<\s]`)
	inlineAttr := regexp.MustCompile(`(?i)\s(on[a-z]+|style)\s*=`)
	n := 0
	err := filepath.WalkDir("static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		src := string(b)
		switch filepath.Ext(p) {
		case ".js":
			if m := sinks.FindString(src); m != "" {
				t.Errorf("%s uses %s", p, m)
			}
		case ".html":
			if m := inlineScript.FindString(src); m != "" {
				t.Errorf("%s has an inline script: %q", p, m)
			}
			if strings.Contains(src, "<style") {
				t.Errorf("%s has an inline <style>", p)
			}
			if m := inlineAttr.FindString(src); m != "" {
				t.Errorf("%s has an inline attribute %q", p, m)
			}
		}
		return nil
	})
	if err != nil || n < 5 {
		t.Fatalf("walked %d files: %v", n, err)
	}
}
