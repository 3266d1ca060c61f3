// Package keys defines the identifiers shortstock stores and caches: link
// codes, SKUs, warehouses and reservation IDs, their validators, and the
// fixed partitioning of keys that storage, change logs and gossip share.
//
// It is a leaf: it imports nothing from the rest of the module, so the edge,
// the origin and the storage backends agree on one definition.
package keys
