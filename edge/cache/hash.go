package cache

import (
	"hash/maphash"

	"github.com/dgraph-io/ristretto/v2/z"
	"github.com/shortstock/shortstock/internal/keys"
)

// checkSeed seeds the second, independent hash of a key (Entry.check).
var checkSeed = maphash.MakeSeed()

// checkBytes and checkString compute Entry.check; equal for equal ids.
func checkBytes(id []byte) uint64  { return maphash.Bytes(checkSeed, id) }
func checkString(id string) uint64 { return maphash.String(checkSeed, id) }

// hashBytes hashes a key for ristretto and the floor shards, straight from
// the request path's bytes. An entry is taken for a key when this hash and
// a second, independently seeded one (checkBytes) both match: 128 bits, as
// ristretto itself identifies keys.
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
