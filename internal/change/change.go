package change

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/shortstock/shortstock/internal/keys"
)

// Change records that Key reached Version. Seq orders the changes of one
// partition: the log of partition P holds seq 1, 2, 3, ... without holes
// (trimming only removes a prefix).
type Change struct {
	Partition int    `json:"partition"`
	Seq       uint64 `json:"seq"`
	Key       string `json:"key"` // canonical "kind:id", see keys.Key
	Version   uint64 `json:"version"`
	AtUnixMs  int64  `json:"at_ms"` // when storage applied the write; used to measure staleness
	// Purge, when not zero, makes this a purge, not a write: caches drop
	// (PurgeHard) or mark stale (PurgeSoft) the key's entry, or every
	// entry (PurgeAll with either), whatever its version. A purge's
	// Version is 0: it changes no data. It travels and is caught up like
	// any change, so it reaches every edge that applies the log.
	Purge Purge `json:"purge,omitempty"`
	// Value, when not empty, is the key's answer at Version as the origin
	// renders it for edges (wire.AppendPushedAnswer), pushed with the
	// change so an edge that holds the key replaces its entry instead of
	// dropping it and fetching again. The tailer attaches it on the way to
	// gossip; the change log never stores it and catch-up never carries
	// it. A string, so a Change stays comparable.
	Value string `json:"-"`
}

// Purge says what a purge change does (see Change.Purge).
type Purge uint8

const (
	PurgeHard Purge = 1 << iota // drop the entry
	PurgeSoft                   // mark it stale: served while revalidating
	PurgeAll                    // every entry, not only the key's
)

// PurgeAllKey is the key a purge of everything is logged under (any
// valid key would do; the edge looks at PurgeAll, not at the key).
const PurgeAllKey = "l:all"

func (p Purge) valid() bool {
	kind := p &^ PurgeAll
	return kind == PurgeHard || kind == PurgeSoft
}

// Page is a slice of one partition's log, as read from storage.
type Page struct {
	Partition int      `json:"partition"`
	Changes   []Change `json:"changes"`
	// Head is the newest seq in the partition (0 when empty).
	Head uint64 `json:"head"`
	// First is the oldest seq still retained; a reader that needs anything
	// before it has lost changes to trimming and must drop the partition.
	First uint64 `json:"first"`
}

// ErrMalformed is returned by Decode for bytes that are not a change.
var ErrMalformed = errors.New("change: malformed record")

const (
	codecVersion = 1
	// codecPurge is codecVersion plus a trailing purge byte; writes keep
	// the version 1 form, byte for byte.
	codecPurge = 2
	// codecValue is codecVersion plus the value's length (uvarint) and
	// bytes. A node that predates it rejects the message and finds the
	// change through catch-up instead.
	codecValue = 3
	maxKeyLen  = 2 + keys.MaxIDLen
)

// MaxValueLen bounds Change.Value, so a change with its value still fits a
// gossip packet beside others.
const MaxValueLen = 512

// MaxEncodedLen bounds one encoded change without a value; a value adds at
// most 2 + MaxValueLen.
const MaxEncodedLen = 1 + 2 + 3*binary.MaxVarintLen64 + 1 + maxKeyLen + 1

// AppendBinary appends the wire form of c to b:
// version byte, partition (uint16), seq, version, at (uvarint/varint),
// key length (byte) and key bytes; a purge has codec version 2 and its
// Purge byte last; a change with a Value has codec version 3 and the
// value's length (uvarint) and bytes last.
func (c Change) AppendBinary(b []byte) []byte {
	switch {
	case c.Purge != 0:
		b = append(b, codecPurge)
	case c.Value != "":
		b = append(b, codecValue)
	default:
		b = append(b, codecVersion)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(c.Partition))
	b = binary.AppendUvarint(b, c.Seq)
	b = binary.AppendUvarint(b, c.Version)
	b = binary.AppendVarint(b, c.AtUnixMs)
	b = append(b, byte(len(c.Key)))
	b = append(b, c.Key...)
	switch {
	case c.Purge != 0:
		b = append(b, byte(c.Purge))
	case c.Value != "":
		b = binary.AppendUvarint(b, uint64(len(c.Value)))
		b = append(b, c.Value...)
	}
	return b
}

// Decode parses one change from the front of b and returns the rest. It
// validates everything a peer could lie about: codec version, partition
// range, key shape, and that the key belongs to the partition it claims.
func Decode(b []byte) (Change, []byte, error) {
	var c Change
	if len(b) < 3 || b[0] < codecVersion || b[0] > codecValue {
		return c, nil, ErrMalformed
	}
	codec := b[0]
	c.Partition = int(binary.BigEndian.Uint16(b[1:3]))
	b = b[3:]
	var n int
	if c.Seq, n = binary.Uvarint(b); n <= 0 {
		return c, nil, ErrMalformed
	}
	b = b[n:]
	if c.Version, n = binary.Uvarint(b); n <= 0 {
		return c, nil, ErrMalformed
	}
	b = b[n:]
	if c.AtUnixMs, n = binary.Varint(b); n <= 0 {
		return c, nil, ErrMalformed
	}
	b = b[n:]
	if len(b) < 1 || int(b[0]) > len(b)-1 || int(b[0]) > maxKeyLen {
		return c, nil, ErrMalformed
	}
	kl := int(b[0])
	c.Key = string(b[1 : 1+kl])
	b = b[1+kl:]
	switch codec {
	case codecPurge:
		if len(b) < 1 || b[0] == 0 {
			return Change{}, nil, ErrMalformed
		}
		c.Purge = Purge(b[0])
		b = b[1:]
	case codecValue:
		vl, n := binary.Uvarint(b)
		if n <= 0 || vl == 0 || vl > MaxValueLen || vl > uint64(len(b)-n) {
			return Change{}, nil, ErrMalformed
		}
		c.Value = string(b[n : n+int(vl)])
		b = b[n+int(vl):]
	}
	if err := c.Validate(); err != nil {
		return Change{}, nil, err
	}
	return c, b, nil
}

// ValidateIn checks that c is well formed and that its partition is its
// key's among sp's partitions.
func (c Change) ValidateIn(sp keys.Space) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if k, id, _ := keys.Split(c.Key); c.Partition != keys.PartitionIn(sp, k, id) {
		return fmt.Errorf("%w: key %q is not in partition %d of %d", ErrMalformed, c.Key, c.Partition, sp.N())
	}
	return nil
}

// Validate checks that c is well formed. Not knowing the partition count, it
// checks the partition only as far as every count agrees (see
// keys.ConsistentPartition); ValidateIn checks it exactly.
func (c Change) Validate() error {
	k, id, ok := keys.Split(c.Key)
	if !ok {
		return fmt.Errorf("%w: key %q", ErrMalformed, c.Key)
	}
	valid := k == keys.KindLink && keys.ValidCode(id) || k == keys.KindStock && keys.ValidSKU(id)
	if !valid {
		return fmt.Errorf("%w: key %q", ErrMalformed, c.Key)
	}
	if !keys.ConsistentPartition(k, id, c.Partition) {
		return fmt.Errorf("%w: key %q is not in partition %d", ErrMalformed, c.Key, c.Partition)
	}
	if len(c.Value) > MaxValueLen {
		return fmt.Errorf("%w: value of %d bytes (at most %d)", ErrMalformed, len(c.Value), MaxValueLen)
	}
	if c.Purge != 0 {
		if !c.Purge.valid() || c.Version != 0 || c.Seq == 0 || c.Value != "" {
			return fmt.Errorf("%w: purge %d with version %d, seq %d", ErrMalformed, c.Purge, c.Version, c.Seq)
		}
		return nil
	}
	if c.Seq == 0 || c.Version == 0 {
		return fmt.Errorf("%w: zero seq or version", ErrMalformed)
	}
	return nil
}
