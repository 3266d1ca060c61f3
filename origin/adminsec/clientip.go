package adminsec

import (
	"net/http"
	"net/netip"
	"strings"
)

// maxForwardedHops bounds how much of X-Forwarded-For is walked: a real
// proxy chain is a handful of hops, a client can send thousands.
const maxForwardedHops = 32

// ClientIP is the address rate limits count a request against: the
// connection's peer, unless that peer is a trusted proxy, in which case
// X-Forwarded-For is walked from the right (the entry the nearest proxy
// appended) past every trusted proxy to the first address that is not
// one. Entries left of that are whatever the client sent, so they are
// never believed. IPv6 clients are counted per /64, the block one
// subscriber usually holds, so hopping through its addresses gains
// nothing.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	ip := peerIP(r.RemoteAddr)
	if len(trusted) > 0 && isTrusted(ip, trusted) {
		ip = forwardedFor(r.Header.Values("X-Forwarded-For"), ip, trusted)
	}
	if ip.Is6() {
		ip = netip.PrefixFrom(ip, 64).Masked().Addr()
	}
	return ip
}

func peerIP(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	if a, err := netip.ParseAddr(remote); err == nil {
		return a.Unmap().WithZone("")
	}
	return netip.Addr{} // not IP (a unix socket): all such share one bucket
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// forwardedFor walks X-Forwarded-For (several headers read as one list)
// from the right. It stops at the first untrusted address, or at an entry
// it cannot read, in which case the last trusted hop stands in: a proxy
// we trust would not have written garbage, so the client did.
func forwardedFor(values []string, peer netip.Addr, trusted []netip.Prefix) netip.Addr {
	hops := strings.Split(strings.Join(values, ","), ",")
	ip := peer
	for i, n := len(hops)-1, 0; i >= 0 && n < maxForwardedHops; i, n = i-1, n+1 {
		a, ok := parseHop(strings.TrimSpace(hops[i]))
		if !ok {
			return ip
		}
		ip = a
		if !isTrusted(a, trusted) {
			return a
		}
	}
	return ip
}

// parseHop reads "1.2.3.4", "2001:db8::1", "1.2.3.4:5678" or
// "[2001:db8::1]:5678" (some proxies add the port).
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}
