package cache

import (
	"github.com/dgraph-io/ristretto/v2/z"

	"github.com/shortstock/shortstock/internal/keys"
)

// hashBytes hashes a key for ristretto and the floor shards, straight from
// the request path's bytes. Two keys may share a hash: ristretto then holds
// one of them at a time, and an entry is only taken for a key whose id it
// holds byte for byte (Entry.is), so a collision costs misses, never a
// wrong answer.
func hashBytes(kind keys.Kind, id []byte) uint64 { return mixKind(kind, z.MemHash(id)) }

// hashKey is hashBytes for a string id; both give the same hash.
func hashKey(kind keys.Kind, id string) uint64 { return mixKind(kind, z.MemHashString(id)) }

// mixKind folds the kind in, so a link and a SKU with the same id land
// apart.
func mixKind(kind keys.Kind, h uint64) uint64 {
	if kind == keys.KindStock {
		h ^= 0x9e3779b97f4a7c15
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 31
	}
	return h
}

// identity is ristretto's KeyToHash for keys that already are hashes. The
// default would box the key in an interface on every Get.
func identity(k uint64) (uint64, uint64) { return k, 0 }
