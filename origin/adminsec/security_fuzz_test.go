package adminsec

import (
	"crypto/sha256"
	"errors"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/shortstock/shortstock/origin/store"
)

// FuzzURLPolicy checks the policy's promises for any input: no panics;
// what it accepts passes ValidateURL; with BlockPrivateTargets nothing it
// accepts is a non-public IP or a special-use name however spelled; own
// domains never pass; with RejectHomographs nothing flagged passes. Seeds
// live in testdata/fuzz/FuzzURLPolicy.
func FuzzURLPolicy(f *testing.F) {
	for _, s := range []string{"https://example.com/", "http://127.1/", "http://0x7f.1/", "http://[::ffff:127.0.0.1]/", "https://xn--80ak6aa92e.com/", "https://pаypal.com/", "https://www.sho.rt/", "http://ｌｏｃａｌｈｏｓｔ/"} {
		f.Add(s)
	}
	open := URLPolicy{}
	strict := URLPolicy{BlockPrivateTargets: true, RejectHomographs: true, OwnDomains: []string{"sho.rt"}}
	f.Fuzz(func(t *testing.T, raw string) {
		flags, err := open.Check(raw)
		if err != nil {
			var pe *PolicyError
			if !errors.As(err, &pe) || pe.Reason == "" || !errors.Is(err, ErrInvalidURL) {
				t.Fatalf("open policy refused %q without an invalid_url reason: %v", raw, err)
			}
		} else if ok, _ := store.ValidateURL(raw); !ok {
			t.Fatalf("accepted %q, which ValidateURL refuses", raw)
		}
		if err == nil && (len(flags) > 0) != (len(LinkFlags(raw)) > 0) {
			t.Fatalf("Check and LinkFlags disagree on %q", raw)
		}
		if _, err := strict.Check(raw); err != nil {
			return
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("accepted %q that does not parse", raw)
		}
		h, err := store.ParseTargetHost(u)
		if err != nil {
			t.Fatalf("accepted %q with a bad host: %v", raw, err)
		}
		if h.IP.IsValid() && !publicIP(h.IP) {
			t.Fatalf("accepted private target %q (%s)", raw, h.IP)
		}
		if privateName(h.ASCII) != "" || h.ASCII == "sho.rt" || strings.HasSuffix(h.ASCII, ".sho.rt") {
			t.Fatalf("accepted %q (host %s)", raw, h.ASCII)
		}
		if isHomograph(h.Unicode) {
			t.Fatalf("accepted homograph %q", raw)
		}
		if ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && !publicIP(ip) {
			t.Fatalf("accepted private literal %q", raw)
		}
	})
}

// FuzzParseIPv4 checks the WHATWG IPv4 reader against netip for dotted
// quads and never panics on anything else.
func FuzzParseIPv4(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "0x7f.1", "2130706433", "0177.0.0.1", "1.2.3.4.5", "0x", "4294967296"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ip, ok := store.ParseIPv4(s)
		if want, err := netip.ParseAddr(s); err == nil && want.Is4() && !strings.Contains(s, "0") {
			if !ok || ip != want {
				t.Fatalf("ParseIPv4(%q) = %v %v, want %v", s, ip, ok, want)
			}
		}
		if ok && !ip.Is4() {
			t.Fatalf("ParseIPv4(%q) gave %v", s, ip)
		}
	})
}

// FuzzParseAdminKey: no panics, errors never quote the input, and a key
// with an explicit scope list always means that key and those scopes.
func FuzzParseAdminKey(f *testing.F) {
	for _, s := range []string{"0123456789abcdef", "0123456789abcdef:links+read", "team:ops:0123456789", "0123456789abcdef:lnks", ":", "a:b:c:links"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		k, err := ParseAdminKey(spec)
		if err != nil {
			if len(spec) >= 4 && strings.Contains(err.Error(), spec) {
				t.Fatalf("error %q quotes the input", err)
			}
		} else if k.Scopes == 0 || k.Scopes&^ScopeAll != 0 {
			t.Fatalf("%q gave scopes %v", spec, k.Scopes)
		}
		if len(spec) >= MinAdminKeyLen {
			for _, s := range []Scope{ScopeLinks, ScopeRead | ScopeStock, ScopeAll} {
				got, err := ParseAdminKey(spec + ":" + s.String())
				if err != nil || got.SHA256 != sha256.Sum256([]byte(spec)) || got.Scopes != s {
					t.Fatalf("%q with explicit scopes %v: %v %v", spec, s, got, err)
				}
			}
		}
	})
}
