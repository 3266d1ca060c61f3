package edge

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/wire"
)

// The decoders below turn what an origin sent into values the edge can
// trust; they are pure functions of bytes so they can be fuzzed. An origin
// is trusted to be honest, not to be bug-free: anything that would make a
// bad response header or a wrong cache entry is refused.

// maxTTL bounds any TTL an origin gives, so a typo there cannot pin an
// entry for years.
const maxTTL = 24 * time.Hour

// parseVersion parses an X-Version header.
func parseVersion(b []byte) (uint64, error) {
	v, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: X-Version %q", ErrProtocol, b)
	}
	return v, nil
}

// parseTTL parses an X-TTL-Ms header: a missing one means "do not cache".
func parseTTL(b []byte) (time.Duration, error) {
	if len(b) == 0 {
		return 0, nil
	}
	ms, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: X-TTL-Ms %q", ErrProtocol, b)
	}
	if ms <= 0 {
		return 0, nil
	}
	// Compare in milliseconds: converting first could overflow.
	return time.Duration(min(ms, maxTTL.Milliseconds())) * time.Millisecond, nil
}

// decodeLink parses and checks a wire.LinkRecord for code.
func decodeLink(code string, body []byte) (wire.LinkRecord, error) {
	// json.Unmarshal's target escapes: a pooled one keeps that 128-byte
	// allocation per fill, garbage among the entries' pages, off the heap.
	p := linkRecords.Get().(*wire.LinkRecord)
	err := json.Unmarshal(body, p)
	r := *p
	*p = wire.LinkRecord{} // hold no strings while pooled
	linkRecords.Put(p)
	if err != nil {
		return r, fmt.Errorf("%w: link record: %w", ErrProtocol, err)
	}
	if r.Code != code {
		return r, fmt.Errorf("%w: asked for link %q, got %q", ErrProtocol, code, r.Code)
	}
	if !validLocation(r.URL) {
		return r, fmt.Errorf("%w: link %q has an unusable URL", ErrProtocol, code)
	}
	if !validTags(r.Tags) {
		return r, fmt.Errorf("%w: link %q has malformed tags", ErrProtocol, code)
	}
	switch r.Redirect {
	case 301, 302, 307, 308:
	case 0:
		r.Redirect = 302
	default:
		return r, fmt.Errorf("%w: link %q has redirect %d", ErrProtocol, code, r.Redirect)
	}
	return r, nil
}

var linkRecords = sync.Pool{New: func() any { return new(wire.LinkRecord) }}

// validLocation refuses what would break or split a Location header: empty,
// over-long, or control characters. The origin already admits only
// absolute http(s) URLs; this is the edge not trusting that blindly.
func validLocation(u string) bool {
	if u == "" || len(u) > 8192 {
		return false
	}
	for i := 0; i < len(u); i++ {
		if c := u[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// decodeMissing parses the body of a 404 from a fetch endpoint.
func decodeMissing(body []byte) (wire.Missing, error) {
	var m wire.Missing
	if err := json.Unmarshal(body, &m); err != nil {
		return m, fmt.Errorf("%w: missing record: %w", ErrProtocol, err)
	}
	return m, nil
}

// checkStockBody checks that a stock view is one JSON object about sku; it
// is cached and served byte for byte, so it is not re-encoded.
func checkStockBody(sku string, body []byte) error {
	var v struct {
		SKU string `json:"sku"`
	}
	if !json.Valid(body) || json.Unmarshal(body, &v) != nil || v.SKU != sku {
		return fmt.Errorf("%w: stock view for %q is not a JSON object about it", ErrProtocol, sku)
	}
	return nil
}

// decodePage parses a change.Page of partition p and checks every change:
// its key, that it belongs to p, and that seqs grow.
func decodePage(p int, body []byte) (change.Page, error) {
	var pg change.Page
	if err := json.Unmarshal(body, &pg); err != nil {
		return pg, fmt.Errorf("%w: change page: %w", ErrProtocol, err)
	}
	if pg.Partition != p {
		return pg, fmt.Errorf("%w: asked for partition %d, got %d", ErrProtocol, p, pg.Partition)
	}
	var prev uint64
	for _, c := range pg.Changes {
		if err := c.Validate(); err != nil {
			return pg, fmt.Errorf("%w: %w", ErrProtocol, err)
		}
		if c.Partition != p || c.Seq <= prev || c.Seq > pg.Head {
			return pg, fmt.Errorf("%w: change %+v out of place in partition %d (head %d)", ErrProtocol, c, p, pg.Head)
		}
		prev = c.Seq
	}
	return pg, nil
}

// decodeHeads parses wire.Heads; it must have one head per partition of n.
// An origin of another partition count is ErrPartitionMismatch (older
// origins do not send the count: the number of heads says it).
func decodeHeads(body []byte, n int) ([]uint64, error) {
	var h wire.Heads
	if err := json.Unmarshal(body, &h); err != nil {
		return nil, fmt.Errorf("%w: heads: %w", ErrProtocol, err)
	}
	got := h.Partitions
	if got == 0 {
		got = len(h.Heads)
	}
	if got != n {
		return nil, &PartitionMismatchError{Origin: got, Configured: n}
	}
	if len(h.Heads) != n {
		return nil, fmt.Errorf("%w: %d heads, want %d", ErrProtocol, len(h.Heads), n)
	}
	return h.Heads, nil
}
