package adminsec

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/shortstock/shortstock/origin/store"
)

// Errors of URLPolicy.Check, each inside a *PolicyError with a sentence for
// the user.
// The admin API answers 400 invalid_url to all but ErrHomograph, which is
// 400 suspicious_url.
var (
	// ErrInvalidURL: the URL fails ValidateURL.
	ErrInvalidURL = errors.New("invalid redirect target")
	// ErrPrivateTarget: an IP literal in a private, loopback, link-local,
	// unspecified or other non-public range, or a name such as localhost
	// that only resolves inside a machine or private network.
	ErrPrivateTarget = errors.New("redirect target is not a public address")
	// ErrOwnDomain: the shortener's own domain (or a subdomain of it); a
	// link there can loop.
	ErrOwnDomain = errors.New("redirect target is the shortener's own domain")
	// ErrHomograph: a host that may impersonate another (FlagIDNHomograph),
	// refused because URLPolicy.RejectHomographs is set.
	ErrHomograph = errors.New("redirect target host may impersonate another")
)

// PolicyError is a target URLPolicy refused: Err is one of the sentinels
// above, Reason a sentence for the user.
type PolicyError struct {
	Err    error
	Reason string
}

func (e *PolicyError) Error() string { return e.Reason }

// Unwrap lets errors.Is find the sentinel.
func (e *PolicyError) Unwrap() error { return e.Err }

func refuse(sentinel error, format string, a ...any) *PolicyError {
	return &PolicyError{Err: sentinel, Reason: fmt.Sprintf(format, a...)}
}

// URLPolicy decides where links may point, beyond ValidateURL's syntax.
// It judges the host as a browser would resolve it (IDNA mapping, every
// IPv4 notation) but never resolves DNS: an answer could change between
// the check and the click (so it would prove nothing), and the origin
// must not make outbound calls chosen by its users. A name that resolves
// to a private address therefore passes; block those at the network.
// The zero URLPolicy only flags homographs. It is safe for concurrent use.
type URLPolicy struct {
	// RejectHomographs refuses hosts flagged FlagIDNHomograph instead of
	// accepting them with the flag.
	RejectHomographs bool
	// BlockPrivateTargets refuses targets that are private, loopback,
	// link-local, unspecified or other non-public IP literals, and
	// localhost and the special-use names that never resolve publicly
	// (*.localhost, *.local, *.internal, *.home.arpa).
	BlockPrivateTargets bool
	// OwnDomains are the shortener's domains (bare host names such as
	// "sho.rt", or IP literals); targets on them or their subdomains are
	// refused, whatever the port.
	OwnDomains []string
}

// Validate checks OwnDomains.
func (p URLPolicy) Validate() error {
	_, err := p.ownHosts()
	return err
}

func (p URLPolicy) ownHosts() ([]store.TargetHost, error) {
	own := make([]store.TargetHost, 0, len(p.OwnDomains))
	for _, d := range p.OwnDomains {
		t, err := parseDomain(d)
		if err != nil {
			return nil, fmt.Errorf("own domain %q: %w", d, err)
		}
		own = append(own, t)
	}
	return own, nil
}

// parseDomain reads an own domain: a host name or IP literal, with no
// scheme, port or path.
func parseDomain(d string) (store.TargetHost, error) {
	if d == "" || strings.ContainsAny(d, "/@?#*%") || strings.Contains(d, ":") && !strings.HasPrefix(d, "[") {
		return store.TargetHost{}, errors.New("want a bare host name such as sho.rt")
	}
	u, err := url.Parse("https://" + d + "/")
	if err != nil || u.Port() != "" {
		return store.TargetHost{}, errors.New("want a bare host name such as sho.rt")
	}
	if ok, why := store.ValidateURL(u.String()); !ok {
		return store.TargetHost{}, errors.New(why)
	}
	return store.ParseTargetHost(u)
}

// Check judges a redirect target. It returns the flags to show on the
// link (FlagIDNHomograph), or a *PolicyError wrapping ErrInvalidURL,
// ErrPrivateTarget, ErrOwnDomain or ErrHomograph (or an error about
// OwnDomains, which Validate reports first).
func (p URLPolicy) Check(raw string) ([]string, error) {
	if ok, why := store.ValidateURL(raw); !ok {
		return nil, refuse(ErrInvalidURL, "%s", why)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, refuse(ErrInvalidURL, "url does not parse")
	}
	h, err := store.ParseTargetHost(u)
	if err != nil {
		return nil, refuse(ErrInvalidURL, "%s", err)
	}
	if p.BlockPrivateTargets {
		if h.IP.IsValid() && !publicIP(h.IP) {
			return nil, refuse(ErrPrivateTarget, "url points to a private, loopback, link-local or reserved address")
		}
		if name := privateName(h.ASCII); name != "" {
			return nil, refuse(ErrPrivateTarget, "url points to %s, which only resolves inside a machine or private network", name)
		}
	}
	own, err := p.ownHosts()
	if err != nil {
		return nil, err
	}
	for _, o := range own {
		if sameOrSubdomain(h, o) {
			return nil, refuse(ErrOwnDomain, "url points to this shortener's own domain %s; the link could loop", o.ASCII)
		}
	}
	if isHomograph(h.Unicode) {
		if p.RejectHomographs {
			return nil, refuse(ErrHomograph, "url host %s mixes scripts or imitates Latin letters (it reads %s)", h.ASCII, h.Unicode)
		}
		return []string{FlagIDNHomograph}, nil
	}
	return nil, nil
}

// LinkFlags computes a stored link's flags from its URL, for display; it
// applies no policy, so links made before a policy change show flags too.
func LinkFlags(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	h, err := store.ParseTargetHost(u)
	if err != nil || !isHomograph(h.Unicode) {
		return nil
	}
	return []string{FlagIDNHomograph}
}

func sameOrSubdomain(h, own store.TargetHost) bool {
	if own.IP.IsValid() || h.IP.IsValid() {
		return own.IP.IsValid() && h.IP.IsValid() && own.IP.Unmap() == h.IP.Unmap()
	}
	return h.ASCII == own.ASCII || strings.HasSuffix(h.ASCII, "."+own.ASCII)
}

// privateNames never resolve on the public internet: RFC 6761 localhost,
// RFC 6762 .local (mDNS), RFC 8375 home.arpa, ICANN's .internal.
var privateNames = []string{"localhost", "local", "internal", "home.arpa"}

// privateName returns which special-use name host is or is under, or "".
func privateName(host string) string {
	for _, n := range privateNames {
		if host == n || strings.HasSuffix(host, "."+n) {
			return n
		}
	}
	return ""
}

// nonPublic are the ranges no public redirect target lives in (RFC 6890
// and successors): what an attacker would aim a "trusted" short link at to
// reach services behind a firewall (SSRF through clients that follow it).
var nonPublic = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network", unspecified
		"10.0.0.0/8",      // private
		"100.64.0.0/10",   // carrier-grade NAT, shared address space
		"127.0.0.0/8",     // loopback
		"169.254.0.0/16",  // link-local (cloud metadata lives here)
		"172.16.0.0/12",   // private
		"192.0.0.0/24",    // IETF protocol assignments
		"192.168.0.0/16",  // private
		"198.18.0.0/15",   // benchmarking
		"224.0.0.0/3",     // multicast, reserved, broadcast
		"::/96",           // unspecified, loopback, IPv4-compatible
		"64:ff9b:1::/48",  // local-use NAT64
		"100::/64",        // discard
		"fc00::/7",        // unique local
		"fe80::/10",       // link-local
		"fec0::/10",       // site-local (deprecated, still routed inside)
		"ff00::/8",        // multicast
		"2001:db8::/32",   // documentation
		"192.0.2.0/24",    // documentation
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"2002:a00::/24",   // 6to4 of 10/8
		"2002:7f00::/24",  // 6to4 of 127/8
		"2002:a9fe::/32",  // 6to4 of 169.254/16
		"2002:ac10::/28",  // 6to4 of 172.16/12
		"2002:c0a8::/32",  // 6to4 of 192.168/16
		"::ffff:0:0:0/96", // IPv4-translated
		"2001::/32",       // Teredo: embeds an obfuscated IPv4, refuse outright
		"2001:10::/28",    // ORCHID
		"2001:20::/28",    // ORCHIDv2
		"3fff::/20",       // documentation (RFC 9637)
		"5f00::/16",       // segment routing SIDs
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// publicIP reports whether ip may be a redirect target: not in nonPublic,
// judging an IPv4-mapped or NAT64 address by the IPv4 address inside.
func publicIP(ip netip.Addr) bool {
	ip = ip.WithZone("").Unmap()
	if ip.Is6() && nat64.Contains(ip) {
		b := ip.As16()
		return publicIP(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}
