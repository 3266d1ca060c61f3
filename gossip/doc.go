// Package gossip spreads invalidations through one region over
// hashicorp/memberlist: the region's origin and its edges are members of one
// encrypted, region-labelled pool, the origin publishes a versioned
// change.Change for every write it has read from its change log, and every
// member hands each change it sees for the first time to its Handler.
//
// Delivery is best effort by design. Gossip is fast (tens of milliseconds on
// a LAN) but may lose a change to packet loss, a full queue or a partition;
// the change log is the source of truth. Two things make loss recoverable:
// every change carries a version, so receivers never go backwards and a newer
// change for a key supersedes an older one still queued; and members
// exchange per-partition watermarks (the origin's change-log heads) during
// memberlist's periodic TCP push/pull, so a member can detect a gap and catch
// up from the change log (see Config.LocalWatermarks and
// Config.OnRemoteWatermarks).
//
// A Node owns every goroutine it starts. Close (Leave, then Shutdown) stops
// them all; NotifyMsg, which memberlist calls on its packet loop, never
// blocks.
//
// The publisher's direct packets are sealed by this package with the
// keyring's keys (sealed.go), once per batch, instead of by memberlist,
// which builds a new cipher for every packet; everything else memberlist
// encrypts itself.
//
// FaultTransport wraps memberlist's network transport to add delay, loss
// and partitions at run time, for tests and the demo.
//
// The package imports only the standard library, memberlist, the
// Prometheus client and leaves under internal/, so the origin and the edge
// can both use it without importing each other.
package gossip
