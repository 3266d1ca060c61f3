package gossip

import "github.com/shortstock/shortstock/internal/change"

// Handler receives the changes a Node delivers. Like groupcache's Getter,
// it is an interface with a function adapter, so a cache can implement it
// or a test can pass a closure.
type Handler interface {
	// HandleChange is called once for each change that is newer than any
	// the node saw before for its key, on one goroutine, in arrival order.
	// A slow handler delays later changes and, once DeliveryQueueSize are
	// waiting, makes the node drop new ones; it never blocks gossip.
	HandleChange(change.Change)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(change.Change)

// HandleChange calls f(c).
func (f HandlerFunc) HandleChange(c change.Change) { f(c) }
