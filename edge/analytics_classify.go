package edge

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	useragent "github.com/medama-io/go-useragent"
	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/shortstock/shortstock/internal/wire"
)

// maxBreakdownKeys: an hour's breakdown keeps this many keys, the rest
// fold into "other" (the origin refuses more).
const maxBreakdownKeys = wire.MaxBreakdownKeys

// maxHostLen bounds a referrer host (DNS: 253); longer is "other".
const maxHostLen = 253

// Names the classifier gives when it cannot tell.
const (
	refDirect  = "direct"  // no Referer
	refInvalid = "invalid" // a Referer that is not an absolute URL with a host
	unknown    = "unknown"
)

// Device classes.
const (
	deviceDesktop = "desktop"
	deviceMobile  = "mobile"
	deviceTablet  = "tablet"
	deviceTV      = "tv"
	deviceBot     = "bot"
)

// click is one classified click. It holds no IP address: the country is
// all that is kept of it.
type click struct {
	code     string
	hour     int64
	bot      bool
	referrer string
	device   string
	browser  string
	country  string
}

// classifier turns ring slots into clicks. It is used by one consumer at
// a time (analytics.consume), so its interning maps need no lock.
type classifier struct {
	ua     *useragent.Parser
	geo    *maxminddb.Reader // nil: every country is unknown
	intern map[string]string // bounded: see str
}

// openGeoIP opens a MaxMind-format database (GeoLite2/GeoIP2 Country or
// City, or any with country.iso_code).
func openGeoIP(path string) (*maxminddb.Reader, error) {
	db, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geoip database %s: %w", path, err)
	}
	return db, nil
}

func newClassifier(geo *maxminddb.Reader) *classifier {
	return &classifier{ua: useragent.NewParser(), geo: geo, intern: map[string]string{}}
}

// str interns b (codes, hosts and browser names repeat), without
// allocating for one seen before; the table is reset when it grows large.
func (c *classifier) str(b []byte) string {
	if s, ok := c.intern[string(b)]; ok {
		return s
	}
	if len(c.intern) > 100_000 {
		clear(c.intern)
	}
	s := string(b)
	c.intern[s] = s
	return s
}

func (c *classifier) classify(sl *anSlot) click {
	k := click{
		code: c.str(sl.code[:sl.codeLen]),
		hour: time.Unix(sl.at, 0).UTC().Truncate(time.Hour).Unix(),
	}
	k.device, k.browser = c.agent(sl.ua[:sl.uaLen])
	if k.device == deviceBot {
		k.bot = true
		return k
	}
	k.referrer = c.str(normalizeReferrer(sl.ref[:sl.refLen], sl.refCut))
	k.country = c.country(sl.ip[:sl.ipLen])
	return k
}

// agent classifies a User-Agent: device class and browser family. A
// binary or non-UTF-8 one is a bot (no browser sends that); an empty one
// is unknown.
func (c *classifier) agent(ua []byte) (device, browser string) {
	if len(ua) == 0 {
		return unknown, unknown
	}
	if !printable(ua) {
		return deviceBot, ""
	}
	a := c.ua.Parse(string(ua))
	switch {
	case a.IsBot():
		return deviceBot, ""
	case a.IsTablet():
		device = deviceTablet
	case a.IsMobile():
		device = deviceMobile
	case a.IsTV():
		device = deviceTV
	case a.IsDesktop():
		device = deviceDesktop
	default:
		device = unknown
	}
	browser = string(a.Browser())
	if browser == "" {
		browser = "other"
	}
	return device, c.str([]byte(browser))
}

// printable: valid UTF-8 without control characters (tabs allowed).
func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return false
		}
	}
	return true
}

// geoRecord is what is read of a GeoIP record.
type geoRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
}

// country looks the peer address up; the address is used for nothing
// else and goes away with the slot.
func (c *classifier) country(ip []byte) string {
	if c.geo == nil {
		return unknown
	}
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return unknown
	}
	var rec geoRecord
	if err := c.geo.Lookup(addr.Unmap()).Decode(&rec); err != nil {
		return unknown
	}
	iso := rec.Country.ISOCode
	if len(iso) != 2 || !isUpperAlpha(iso) {
		return unknown
	}
	return c.str([]byte(iso))
}

func isUpperAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// normalizeReferrer reduces a Referer to its host: lower case, without
// userinfo (credentials never reach storage), port, trailing dot or a
// leading "www.". No Referer is "direct"; one that is not an absolute URL
// with a valid host, or is binary, is "invalid"; a host too long (or cut
// off by the slot) is "other". cut says the Referer was longer than what
// was kept.
func normalizeReferrer(ref []byte, cut bool) []byte {
	if len(ref) == 0 {
		return []byte(refDirect)
	}
	i := indexSchemeEnd(ref)
	if i < 0 {
		return []byte(refInvalid)
	}
	rest := ref[i+3:]
	end := len(rest)
	for j, ch := range rest {
		if ch == '/' || ch == '?' || ch == '#' || ch == '\\' {
			end = j
			break
		}
	}
	if end == len(rest) && cut {
		return []byte("other") // the host may go on past what was kept
	}
	host := rest[:end]
	if at := lastByte(host, '@'); at >= 0 {
		host = host[at+1:] // userinfo
	}
	if len(host) > 0 && host[0] == '[' { // IPv6 literal
		cl := lastByte(host, ']')
		if cl < 0 {
			return []byte(refInvalid)
		}
		a, err := netip.ParseAddr(string(host[1:cl]))
		if err != nil {
			return []byte(refInvalid)
		}
		// A zone ("%eth0") names an interface of the visitor's machine, not
		// a site, and may hold any byte: drop it.
		return []byte("[" + a.WithZone("").String() + "]")
	}
	if c := lastByte(host, ':'); c >= 0 {
		for _, d := range host[c+1:] {
			if d < '0' || d > '9' {
				return []byte(refInvalid)
			}
		}
		host = host[:c]
	}
	for len(host) > 0 && host[len(host)-1] == '.' {
		host = host[:len(host)-1]
	}
	if len(host) == 0 {
		return []byte(refInvalid)
	}
	if len(host) > maxHostLen {
		return []byte("other")
	}
	out := lowerASCII(host)
	for _, ch := range out {
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '.' || ch == '_') {
			return []byte(refInvalid)
		}
	}
	if strings.HasPrefix(string(out), "www.") && len(out) > 4 {
		out = out[4:]
	}
	if len(out) > wire.MaxDimensionLen {
		return []byte("other")
	}
	return out
}

// indexSchemeEnd finds "://" after a valid scheme ([a-zA-Z][a-zA-Z0-9+.-]*).
func indexSchemeEnd(b []byte) int {
	for i, ch := range b {
		switch {
		case ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z':
		case i > 0 && (ch >= '0' && ch <= '9' || ch == '+' || ch == '.' || ch == '-'):
		case i > 0 && ch == ':' && len(b) >= i+3 && b[i+1] == '/' && b[i+2] == '/':
			return i
		default:
			return -1
		}
	}
	return -1
}

func lastByte(b []byte, c byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == c {
			return i
		}
	}
	return -1
}

func lowerASCII(b []byte) []byte {
	out := make([]byte, len(b))
	for i, ch := range b {
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		out[i] = ch
	}
	return out
}
