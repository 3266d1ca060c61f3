package gossip

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/shortstock/shortstock/internal/keys"
)

// Role says what a member is. It travels in the push/pull state and the
// node metadata, so members know which peers' watermarks are authoritative.
type Role uint8

const (
	// RoleEdge serves reads from a cache; it produces no watermarks, but
	// relays the freshest origin watermarks it has seen.
	RoleEdge Role = 1
	// RoleOrigin tails the change log and publishes; its watermarks are
	// the change-log heads.
	RoleOrigin Role = 2
)

func (r Role) String() string {
	switch r {
	case RoleEdge:
		return "edge"
	case RoleOrigin:
		return "origin"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

func (r Role) valid() bool { return r == RoleEdge || r == RoleOrigin }

// stateVersion is the first byte of the push/pull state record.
const stateVersion byte = 1

// state is what a member sends in memberlist's push/pull (LocalState).
//
// Wire form, compact (about 1-10 KB for 1024 partitions, by seq size,
// well inside one TCP exchange) and strict to decode:
//
//	version   byte (1)
//	role      byte (RoleEdge or RoleOrigin)
//	name      byte length (1-255) + UTF-8: the sender
//	count     uvarint: 0, or the partition count (at most keys.MaxPartitions)
//	source    only when count > 0: byte length (1-255) + UTF-8, the origin
//	          that produced the marks (the sender itself on an origin; never
//	          the sender on an edge)
//	marks     count uvarints, partition 0 first
//
// with nothing after the last mark.
type state struct {
	Role       Role
	Name       string
	Source     string
	Watermarks []uint64
}

// appendState appends the wire form of s to b. It encodes what it is given;
// callers send either no watermarks or one per partition.
func appendState(b []byte, s state) []byte {
	b = append(b, stateVersion, byte(s.Role), byte(len(s.Name)))
	b = append(b, s.Name...)
	b = binary.AppendUvarint(b, uint64(len(s.Watermarks)))
	if len(s.Watermarks) > 0 {
		b = append(b, byte(len(s.Source)))
		b = append(b, s.Source...)
	}
	for _, w := range s.Watermarks {
		b = binary.AppendUvarint(b, w)
	}
	return b
}

// decodeState parses a state record, rejecting anything a peer (or a
// corrupted stream) could get wrong, with errors wrapping ErrMalformedState.
func decodeState(b []byte) (state, error) {
	var s state
	bad := func(why string) (state, error) {
		return state{}, fmt.Errorf("%w: %s", ErrMalformedState, why)
	}
	if len(b) < 2 {
		return bad("short record")
	}
	if b[0] != stateVersion {
		return bad(fmt.Sprintf("unknown version %d", b[0]))
	}
	s.Role = Role(b[1])
	if !s.Role.valid() {
		return bad(fmt.Sprintf("unknown role %d", b[1]))
	}
	var ok bool
	if s.Name, b, ok = decodeName(b[2:]); !ok {
		return bad("bad name")
	}
	count, n := binary.Uvarint(b)
	if n <= 0 {
		return bad("bad count")
	}
	b = b[n:]
	if count > keys.MaxPartitions {
		return bad(fmt.Sprintf("%d watermarks", count))
	}
	if count > 0 {
		if s.Source, b, ok = decodeName(b); !ok {
			return bad("bad source")
		}
		if (s.Role == RoleOrigin) != (s.Source == s.Name) {
			return bad(fmt.Sprintf("%s %q carries marks of %q", s.Role, s.Name, s.Source))
		}
		s.Watermarks = make([]uint64, count)
		for i := range s.Watermarks {
			w, n := binary.Uvarint(b)
			if n <= 0 {
				return bad(fmt.Sprintf("bad watermark %d", i))
			}
			s.Watermarks[i] = w
			b = b[n:]
		}
	}
	if len(b) != 0 {
		return bad(fmt.Sprintf("%d trailing bytes", len(b)))
	}
	return s, nil
}

// decodeName reads a length-prefixed (1-255) UTF-8 name.
func decodeName(b []byte) (string, []byte, bool) {
	if len(b) < 1 {
		return "", nil, false
	}
	l := int(b[0])
	if l == 0 || l > len(b)-1 {
		return "", nil, false
	}
	s := string(b[1 : 1+l])
	if !utf8.ValidString(s) {
		return "", nil, false
	}
	return s, b[1+l:], true
}

// relayedMarks is the freshest origin watermarks an edge has seen, which it
// sends on in its own push/pull state.
//
// Why edges relay: push/pull pairs a node with one random member per
// interval, so an edge would meet the origin itself only every ~N/2
// intervals. Relayed, the origin's heads spread epidemically, in O(log N)
// intervals. Marks only grow, so a relayed copy is never harmful, only
// possibly behind; merging takes the per-partition maximum. A copy that
// has not advanced (nor come from the origin directly) for ttl is dropped,
// so the marks of an origin that is gone stop circulating.
type relayedMarks struct {
	mu     sync.Mutex
	source string
	marks  []uint64
	at     time.Time
}

// merge folds marks from source in. direct says they came from the origin
// itself.
func (r *relayedMarks) merge(source string, w []uint64, direct bool, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if source != r.source || r.marks == nil {
		r.source, r.marks, r.at = source, append([]uint64(nil), w...), now
		return
	}
	advanced := direct
	for i, v := range w {
		if v > r.marks[i] {
			r.marks[i] = v
			advanced = true
		}
	}
	if advanced {
		r.at = now
	}
}

// snapshot returns a copy of the marks to relay, or none if they are older
// than ttl.
func (r *relayedMarks) snapshot(now time.Time, ttl time.Duration) (string, []uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.marks == nil || now.Sub(r.at) > ttl {
		return "", nil
	}
	return r.source, append([]uint64(nil), r.marks...)
}
