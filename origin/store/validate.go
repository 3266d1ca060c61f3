package store

import (
	"net/url"
	"strconv"
	"strings"
)

// MaxURLLen is the longest redirect target accepted.
const MaxURLLen = 8192

// ValidateURL checks a redirect target's syntax: an absolute http or https
// URL with a host, no userinfo (it hides the real host:
// "https://bank.com@evil.net"), no whitespace or control characters (they
// enable header injection and spoofing), at most MaxURLLen bytes, and a
// host a browser can resolve (valid IDNA, valid IPv4 when it ends in a
// number). It returns a sentence for the user. Where a target may point
// is URLPolicy's concern.
func ValidateURL(raw string) (ok bool, why string) {
	if raw == "" {
		return false, "url is required"
	}
	if len(raw) > MaxURLLen {
		return false, "url is longer than 8192 bytes"
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c == 0x7f {
			return false, "url contains whitespace or control characters"
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return false, "url does not parse"
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	default:
		return false, "only absolute http and https URLs are accepted"
	}
	if u.Opaque != "" {
		return false, "url must be of the form scheme://host/..."
	}
	if u.User != nil {
		return false, "url must not contain userinfo"
	}
	host := u.Hostname()
	if host == "" {
		return false, "url must have a host"
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return false, "url has an invalid port"
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return false, "url has an empty port"
	}
	if !strings.HasPrefix(u.Host, "[") && !validHostname(host) {
		return false, "url has an invalid host"
	}
	// What a browser could not resolve either: IPv4 forms it refuses,
	// punycode that does not decode, IDNs that break the mapping rules.
	if _, err := ParseTargetHost(u); err != nil {
		return false, err.Error()
	}
	return true, ""
}

// validHostname accepts DNS names (letters, digits, '-', '.', and non-ASCII
// for IDNs) and IPv4 literals; it rejects characters that have no place in
// a host and that browsers treat inconsistently.
func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if c >= 0x80 || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
				continue
			}
			return false
		}
	}
	return true
}

// ValidRedirect reports whether status is a redirect a link may use.
func ValidRedirect(status int) bool {
	switch status {
	case 301, 302, 307, 308:
		return true
	}
	return false
}

// ValidIdempotencyKey accepts 1..255 printable ASCII characters.
func ValidIdempotencyKey(k string) bool {
	if len(k) == 0 || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}
