package keys

// Partitions is the fixed number of partitions every key is spread over.
// Storage keeps one change log per partition; Redis gives every key of a
// partition the same hash tag so one Lua script can touch them atomically.
// Changing it re-homes every key, so it is a constant, not a setting.
const Partitions = 64

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

// Partition returns the partition of id in keyspace k: FNV-1a over
// kind, ':' and id, modulo Partitions. It works on string and []byte without
// allocating, so the edge can route a request path directly.
func Partition[T ~string | ~[]byte](k Kind, id T) int {
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
	return int(h % Partitions)
}

// PartitionOfKey returns the partition of a canonical key, or -1 when the key
// is malformed.
func PartitionOfKey(key string) int {
	k, id, ok := Split(key)
	if !ok {
		return -1
	}
	return Partition(k, id)
}
