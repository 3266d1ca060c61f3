package adminsec

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/shortstock/shortstock/origin/store"
)

func TestParseIPv4LikeBrowsers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" = not an IPv4 address
	}{
		{"127.0.0.1", "127.0.0.1"},
		{"127.1", "127.0.0.1"},
		{"2130706433", "127.0.0.1"},
		{"0x7f.1", "127.0.0.1"},
		{"0x7f000001", "127.0.0.1"},
		{"0177.0.0.1", "127.0.0.1"},
		{"017700000001", "127.0.0.1"},
		{"10.0x10.1", "10.16.0.1"},
		{"0x", "0.0.0.0"},
		{"0", "0.0.0.0"},
		{"1.2.3.4", "1.2.3.4"},
		{"255.255.255.255", "255.255.255.255"},
		{"4294967295", "255.255.255.255"},
		{"4294967296", ""},
		{"1.2.3.256", ""},
		{"256.1.1.1", ""},
		{"1.2.3.4.5", ""},
		{"09.1.1.1", ""}, // 9 is not octal
		{"0xg.1", ""},
		{"1.2.65536", ""},
		{"1.2.65535", "1.2.255.255"},
		{"99999999999999999999999999", ""},
	} {
		ip, ok := store.ParseIPv4(tc.in)
		got := ""
		if ok {
			got = ip.String()
		}
		if got != tc.want {
			t.Errorf("ParseIPv4(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestValidateURLHosts(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://example.com/", true},
		{"https://EXAMPLE.com./x", true},
		{"https://münchen.de/", true},
		{"https://xn--mnchen-3ya.de/", true},
		{"https://xn--80ak6aa92e.com/", true}, // valid punycode; flagged, not invalid
		{"https://xn--zz.com/", false},        // does not decode
		{"https://xn--abc.com/", false},       // decodes to nothing valid
		{"https://1.2.3.999/", false},         // ends in a number, not IPv4
		{"https://example.123/", false},
		{"https://2130706433/", true},
		{"https://0x7f.1/", true},
		{"https://[::1]/", true},
		{"https://[fe80::1%25eth0]/", false},
		{"https://a\u200db.example/", false}, // ZWJ outside its context
		{"https://ａｂｃ.example/", true},       // full width maps to abc
		{"https://a／b.example/", false},      // maps to a '/'
		{"https://r3---sn-apo3qvuoxuxbt-j5pe.googlevideo.com/", true},
		{"https://under_score.example/", true},
	} {
		ok, why := store.ValidateURL(tc.url)
		if ok != tc.ok {
			t.Errorf("ValidateURL(%q) = %v (%s), want %v", tc.url, ok, why, tc.ok)
		}
	}
}

func TestURLPolicy(t *testing.T) {
	block := URLPolicy{BlockPrivateTargets: true, OwnDomains: []string{"sho.rt", "Ｌinks.Example.", "[2001:4860::1]", "8.8.8.8"}}
	strict := URLPolicy{RejectHomographs: true}
	open := URLPolicy{}
	for _, tc := range []struct {
		p    URLPolicy
		url  string
		want error // nil = accepted
		flag bool
	}{
		// Private and special targets, in every spelling a browser reads.
		{block, "http://127.0.0.1/", ErrPrivateTarget, false},
		{block, "http://127.0.0.1:8080/admin", ErrPrivateTarget, false},
		{block, "http://2130706433/", ErrPrivateTarget, false},
		{block, "http://0x7f.1/", ErrPrivateTarget, false},
		{block, "http://0177.0.0.1/", ErrPrivateTarget, false},
		{block, "http://127.1/", ErrPrivateTarget, false},
		{block, "http://１２７.０.０.１/", ErrPrivateTarget, false},
		{block, "http://%31%32%37.0.0.1/", ErrInvalidURL, false}, // Go refuses escapes in hosts
		{block, "http://10.1.2.3/", ErrPrivateTarget, false},
		{block, "http://172.16.0.1/", ErrPrivateTarget, false},
		{block, "http://172.31.255.255/", ErrPrivateTarget, false},
		{block, "http://192.168.1.1/", ErrPrivateTarget, false},
		{block, "http://169.254.169.254/latest/meta-data/", ErrPrivateTarget, false},
		{block, "http://100.64.0.1/", ErrPrivateTarget, false},
		{block, "http://0.0.0.0/", ErrPrivateTarget, false},
		{block, "http://0/", ErrPrivateTarget, false},
		{block, "http://255.255.255.255/", ErrPrivateTarget, false},
		{block, "http://224.0.0.1/", ErrPrivateTarget, false},
		{block, "http://[::1]/", ErrPrivateTarget, false},
		{block, "http://[::]/", ErrPrivateTarget, false},
		{block, "http://[::ffff:127.0.0.1]/", ErrPrivateTarget, false},
		{block, "http://[::ffff:7f00:1]/", ErrPrivateTarget, false},
		{block, "http://[64:ff9b::a00:1]/", ErrPrivateTarget, false},
		{block, "http://[fc00::1]/", ErrPrivateTarget, false},
		{block, "http://[fd12:3456::1]/", ErrPrivateTarget, false},
		{block, "http://[fe80::1]/", ErrPrivateTarget, false},
		{block, "http://[ff02::1]/", ErrPrivateTarget, false},
		{block, "http://localhost/", ErrPrivateTarget, false},
		{block, "http://LOCALHOST./", ErrPrivateTarget, false},
		{block, "http://ｌｏｃａｌｈｏｓｔ/", ErrPrivateTarget, false},
		{block, "http://api.localhost:3000/", ErrPrivateTarget, false},
		{block, "http://printer.local/", ErrPrivateTarget, false},
		{block, "http://wiki.corp.internal/", ErrPrivateTarget, false},
		{block, "http://nas.home.arpa/", ErrPrivateTarget, false},
		// Public targets pass.
		{block, "http://8.8.4.4/", nil, false},
		{block, "http://[2606:4700::1111]/", nil, false},
		{block, "http://[64:ff9b::808:808]/", nil, false},
		{block, "https://example.com/", nil, false},
		{block, "https://localhost.example.com/", nil, false},
		{block, "https://notlocal.example/", nil, false},
		{block, "https://172.32.0.1/", nil, false},
		// Own domains, their subdomains, any port, any spelling.
		{block, "https://sho.rt/abc", ErrOwnDomain, false},
		{block, "https://SHO.RT./abc", ErrOwnDomain, false},
		{block, "https://www.sho.rt:8443/abc", ErrOwnDomain, false},
		{block, "https://links.example/x", ErrOwnDomain, false},
		{block, "https://go.links.example/x", ErrOwnDomain, false},
		{block, "https://[2001:4860:0::1]/", ErrOwnDomain, false},
		{block, "https://134744072/", ErrOwnDomain, false}, // 8.8.8.8
		{block, "https://notsho.rt/abc", nil, false},
		{block, "https://sho.rt.evil.example/", nil, false},
		// Private targets are fine when not blocked.
		{open, "http://127.0.0.1:8080/", nil, false},
		{open, "http://localhost/", nil, false},
		// Homographs: flagged by default, refused when asked.
		{open, "https://xn--80ak6aa92e.com/", nil, true}, // аррӏе.com, all Cyrillic lookalikes
		{open, "https://аррӏе.com/", nil, true},          // the same in Unicode
		{open, "https://pаypal.com/", nil, true},         // Cyrillic а in a Latin label
		{open, "https://xn--pypal-4ve.com/", nil, true},  // the same in punycode
		{open, "https://gοοgle.com/", nil, true},         // Greek omicrons
		{open, "https://аррӏе.рф/", nil, false},          // Cyrillic TLD: a Cyrillic audience
		{open, "https://пример.com/", nil, false},        // Cyrillic, but not all lookalikes
		{open, "https://münchen.de/", nil, false},        // Latin with diacritics
		{open, "https://日本語.jp/", nil, false},            // one script
		{open, "https://ひらがなカタカナ漢字abc.jp/", nil, false},  // Japanese mix
		{open, "https://한국어abc.kr/", nil, false},         // Korean mix
		{open, "https://ελλάδα.gr/", nil, false},         // Greek only
		{strict, "https://pаypal.com/", ErrHomograph, false},
		{strict, "https://xn--80ak6aa92e.com/", ErrHomograph, false},
		{strict, "https://example.com/", nil, false},
		// Syntax failures come back as ErrInvalidURL.
		{open, "javascript:alert(1)", ErrInvalidURL, false},
		{open, "https://u:p@example.com/", ErrInvalidURL, false},
	} {
		flags, err := tc.p.Check(tc.url)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%q: refused (%v), want accepted", tc.url, err)
				continue
			}
			if got := len(flags) == 1 && flags[0] == FlagIDNHomograph; got != tc.flag {
				t.Errorf("%q: flags %v, want flagged=%v", tc.url, flags, tc.flag)
			}
			if got := LinkFlags(tc.url); (len(got) > 0) != tc.flag {
				t.Errorf("%q: LinkFlags %v, want flagged=%v", tc.url, got, tc.flag)
			}
			continue
		}
		var pe *PolicyError
		if !errors.Is(err, tc.want) || !errors.As(err, &pe) || pe.Reason == "" {
			t.Errorf("%q: got %v, want %v with a reason", tc.url, err, tc.want)
		}
	}
}

func TestURLPolicyOwnDomainsValidated(t *testing.T) {
	for _, d := range []string{"", "https://sho.rt", "sho.rt/x", "sho.rt:443", "*.sho.rt", "a b", "u@sho.rt", "1.2.3.999", "xn--zz"} {
		if err := (URLPolicy{OwnDomains: []string{d}}).Validate(); err == nil {
			t.Errorf("own domain %q accepted", d)
		}
	}
	for _, d := range []string{"sho.rt", "SHO.RT.", "münchen.de", "10.0.0.1", "[::1]"} {
		if err := (URLPolicy{OwnDomains: []string{d}}).Validate(); err != nil {
			t.Errorf("own domain %q refused: %v", d, err)
		}
	}
}

func TestPublicIP(t *testing.T) {
	for s, want := range map[string]bool{
		"1.1.1.1": true, "93.184.216.34": true, "2606:4700::1111": true,
		"127.0.0.53": false, "::1": false, "::ffff:10.0.0.1": false, "fd00::1": false,
		"169.254.0.1": false, "192.0.2.1": false, "2001:db8::1": false, "::": false,
	} {
		if got := publicIP(netip.MustParseAddr(s)); got != want {
			t.Errorf("publicIP(%s) = %v, want %v", s, got, want)
		}
	}
}
