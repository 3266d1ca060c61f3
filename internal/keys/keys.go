package keys

import "fmt"

// Partition counts. The count is chosen when a store is created and recorded
// in its metadata (bbolt meta bucket, Redis "<prefix>:meta" hash): every key's
// partition, hence its change log and, in Redis, its hash tag, depends on it,
// so a store cannot change it afterwards and every origin and edge of a
// deployment must use the store's count (they refuse to start otherwise).
const (
	// DefaultPartitions is the count of a new store unless configured: enough
	// for a Redis Cluster of a few hundred shards at ~10 B links. Bulk and
	// import jobs batch their chunks across partitions (one bbolt
	// transaction per step, one Redis script per node per chunk), so their
	// cost does not grow with the count.
	DefaultPartitions = 1024
	// MaxPartitions is the largest count: one partition per Redis hash slot.
	MaxPartitions = 16384
	// LegacyPartitions is the count of stores created before the count was
	// configurable (no metadata records it): they are read as 64.
	LegacyPartitions = 64
)

// Space is a partition count, a power of two in 1..MaxPartitions. The zero
// value is DefaultPartitions. It is a small value passed explicitly to every
// component that maps keys to partitions (stores, tailer, edge cache,
// gossip); NewSpace validates a configured count.
type Space struct {
	n uint32 // 0 means DefaultPartitions
}

// NewSpace returns the Space of n partitions, or an error when n is not a
// power of two in 1..MaxPartitions.
func NewSpace(n int) (Space, error) {
	if err := ValidPartitions(n); err != nil {
		return Space{}, err
	}
	return Space{n: uint32(n)}, nil
}

// MustSpace is NewSpace for counts known to be valid (tests, constants); it
// panics on an invalid n.
func MustSpace(n int) Space {
	s, err := NewSpace(n)
	if err != nil {
		panic(err)
	}
	return s
}

// ValidPartitions says why n is not a usable partition count, or nil.
func ValidPartitions(n int) error {
	if n < 1 || n > MaxPartitions || n&(n-1) != 0 {
		return fmt.Errorf("partitions %d: must be a power of two in 1..%d", n, MaxPartitions)
	}
	return nil
}

// N returns the number of partitions.
func (s Space) N() int {
	if s.n == 0 {
		return DefaultPartitions
	}
	return int(s.n)
}

// Valid reports whether p is a partition of s.
func (s Space) Valid(p int) bool { return p >= 0 && p < s.N() }

// Hash is FNV-1a over kind, ':' and id. It works on string and []byte
// without allocating.
func Hash[T ~string | ~[]byte](k Kind, id T) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	h ^= uint64(k)
	h *= prime
	h ^= ':'
	h *= prime
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= prime
	}
	return h
}

// PartitionIn returns the partition of id in keyspace k among s's
// partitions: Hash & (n-1), the same as Hash % n since n is a power of two.
// So a key's partition at n is its partition at 2n modulo n: doubling the
// count splits each partition in two (p and p+n) and moves no key elsewhere.
func PartitionIn[T ~string | ~[]byte](s Space, k Kind, id T) int {
	return int(Hash(k, id) & uint64(s.N()-1))
}

// Partition returns the partition of id in keyspace k (see PartitionIn).
func (s Space) Partition(k Kind, id string) int { return PartitionIn(s, k, id) }

// PartitionBytes is Partition for an id held in a []byte; it allocates
// nothing, so the edge can route a request path directly.
func (s Space) PartitionBytes(k Kind, id []byte) int { return PartitionIn(s, k, id) }

// PartitionOfKey returns the partition of a canonical key, or -1 when the key
// is malformed.
func (s Space) PartitionOfKey(key string) int {
	k, id, ok := Split(key)
	if !ok {
		return -1
	}
	return PartitionIn(s, k, id)
}

// String is "1024 partitions".
func (s Space) String() string { return fmt.Sprintf("%d partitions", s.N()) }

// Kind says which keyspace a key belongs to.
type Kind byte

const (
	// KindLink is a short link, keyed by its code.
	KindLink Kind = 'l'
	// KindStock is a stock view, keyed by its SKU.
	KindStock Kind = 's'
)

// Key is the canonical "kind:id" form used in change records and gossip,
// e.g. "l:abc123" or "s:SKU-1".
func Key(k Kind, id string) string { return string(k) + ":" + id }

// Split returns the kind and id of a canonical key; ok is false when the key
// is not of a known kind.
func Split(key string) (k Kind, id string, ok bool) {
	if len(key) < 3 || key[1] != ':' {
		return 0, "", false
	}
	k = Kind(key[0])
	if k != KindLink && k != KindStock {
		return 0, "", false
	}
	return k, key[2:], true
}

// ConsistentPartition reports whether p can be id's partition in keyspace k
// at some count: p is below MaxPartitions and equals the key's hash modulo
// the smallest power of two above p (every count that holds p agrees on
// those bits). It lets a decoder that does not know the count reject most
// mislabelled records; Space.Partition checks exactly.
func ConsistentPartition[T ~string | ~[]byte](k Kind, id T, p int) bool {
	if p < 0 || p >= MaxPartitions {
		return false
	}
	m := 1
	for m <= p {
		m <<= 1
	}
	return Hash(k, id)&uint64(m-1) == uint64(p)
}

// DefaultSpace is the Space of DefaultPartitions (the zero Space).
func DefaultSpace() Space { return Space{} }
