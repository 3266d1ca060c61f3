// Package coldtier holds the cold tier of the link store: immutable,
// code-sorted segment objects with an index and a Bloom filter, so a cold
// lookup is at most one ranged read and a code in no filter costs no read.
//
// It imports origin/store only (a leaf like the backends); the origin and
// cmd/shortstock wire it.
package coldtier
