// Package change defines the change record: the unit of the per-partition
// change log that every storage write appends to, and of the invalidations
// that origins gossip to edges. It includes a compact binary codec used on
// the gossip wire and its decoder's fuzz target.
//
// It is a leaf: storage backends, the origin, gossip and the edge all speak
// it, and it imports none of them.
package change
