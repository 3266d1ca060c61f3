package store

import (
	"errors"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// TargetHost is a redirect target's host as a browser resolves it: what
// the policy must judge, since "ＬＯＣＡＬＨＯＳＴ", "0x7f.1" and
// "2130706433" all reach the same place as "localhost" and "127.0.0.1".
type TargetHost struct {
	// ascii is the lower-case A-label (punycode) form, without a trailing
	// dot; for an IP literal, the address as written by netip.
	ASCII string
	// unicode is the U-label form, for script checks.
	Unicode string
	// ip is set when the host is an IP address in any form a browser
	// accepts: [IPv6], dotted IPv4, or the decimal, octal, hex and short
	// forms the WHATWG URL standard reads as IPv4.
	IP netip.Addr
}

// Reasons a host is refused, as sentences for the user.
var (
	errIPv6Host   = errors.New("url has an invalid IPv6 host")
	errIPv4Host   = errors.New("url host ends in a number but is not a valid IPv4 address")
	errIDNHost    = errors.New("url host is not a valid internationalized domain name")
	errMappedHost = errors.New("url host maps to characters not allowed in a host name")
)

// hostProfile maps a host the way browsers do (UTS #46 non-transitional
// processing, the WHATWG URL standard's "domain to ASCII" with beStrict
// false): case, width and compatibility mappings, punycode checks, Bidi and
// joiner rules, but no STD3 or hyphen rules, which real hosts break.
var hostProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.BidiRule(),
	idna.StrictDomainName(false),
	idna.CheckHyphens(false),
)

// ParseTargetHost resolves u's host (already through ValidateURL's syntax
// checks) to its canonical form. It never touches DNS.
func ParseTargetHost(u *url.URL) (TargetHost, error) {
	h := u.Hostname()
	if strings.HasPrefix(u.Host, "[") {
		ip, err := netip.ParseAddr(h)
		if err != nil || ip.Zone() != "" {
			return TargetHost{}, errIPv6Host
		}
		return TargetHost{ASCII: ip.String(), Unicode: ip.String(), IP: ip}, nil
	}
	ascii := strings.TrimSuffix(h, ".")
	if needsIDNA(ascii) {
		var err error
		if ascii, err = hostProfile.ToASCII(ascii); err != nil {
			return TargetHost{}, errIDNHost
		}
		ascii = strings.TrimSuffix(ascii, ".")
		if !IsASCII(ascii) || !validHostname(ascii) || strings.HasSuffix(ascii, ".") {
			return TargetHost{}, errMappedHost
		}
	} else {
		ascii = strings.ToLower(ascii)
	}
	t := TargetHost{ASCII: ascii, Unicode: ascii}
	if endsInNumber(ascii) {
		ip, ok := ParseIPv4(ascii)
		if !ok {
			return TargetHost{}, errIPv4Host
		}
		t.ASCII, t.Unicode, t.IP = ip.String(), ip.String(), ip
		return t, nil
	}
	if hasACELabel(ascii) {
		u, err := hostProfile.ToUnicode(ascii)
		if err != nil {
			return TargetHost{}, errIDNHost
		}
		t.Unicode = u
	}
	return t, nil
}

// needsIDNA: a non-ASCII host needs mapping; an ASCII one with an "xn--"
// label needs its punycode checked (an invalid one does not resolve).
func needsIDNA(h string) bool { return !IsASCII(h) || hasACELabel(h) }

func hasACELabel(h string) bool {
	for _, l := range strings.Split(h, ".") {
		if len(l) >= 4 && strings.EqualFold(l[:4], "xn--") {
			return true
		}
	}
	return false
}

func IsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// endsInNumber is the WHATWG URL standard's test for an IPv4 host: its
// last label is all digits, or "0x" and hex digits.
func endsInNumber(h string) bool {
	last := h[strings.LastIndexByte(h, '.')+1:]
	if last == "" {
		return false
	}
	if allDigits(last, 10) {
		return true
	}
	return len(last) >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') && allDigits(last[2:], 16)
}

func allDigits(s string, base int) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i], base) {
			return false
		}
	}
	return true
}

func isDigit(c byte, base int) bool {
	switch base {
	case 8:
		return c >= '0' && c <= '7'
	case 16:
		return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f'
	}
	return c >= '0' && c <= '9'
}

// ParseIPv4 is the WHATWG URL standard's IPv4 parser: one to four parts,
// each decimal, octal (leading 0) or hex (0x); the last part fills the
// remaining bytes, so "127.1" is 127.0.0.1 and "2130706433" is too.
func ParseIPv4(h string) (netip.Addr, bool) {
	parts := strings.Split(h, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		n, ok := parseIPv4Number(p)
		if !ok {
			return netip.Addr{}, false
		}
		nums[i] = n
	}
	var v uint64
	for i, n := range nums[:len(nums)-1] {
		if n > 255 {
			return netip.Addr{}, false
		}
		v |= n << (8 * (3 - i))
	}
	last := nums[len(nums)-1]
	if last >= 1<<(8*(5-len(nums))) {
		return netip.Addr{}, false
	}
	v |= last
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

func parseIPv4Number(p string) (uint64, bool) {
	base := 10
	switch {
	case p == "":
		return 0, false
	case len(p) >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'):
		p, base = p[2:], 16
		if p == "" {
			return 0, true // "0x" alone is 0 in the standard
		}
	case len(p) >= 2 && p[0] == '0':
		p, base = p[1:], 8
	}
	if !allDigits(p, base) || len(p) > 32 {
		return 0, false
	}
	n, err := strconv.ParseUint(p, base, 64)
	return n, err == nil
}
