package gossip

import (
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// stoppingTransport drops memberlist's packets once the node is shutting
// down. memberlist.Shutdown closes the transport before it stops its
// gossip and probe timers, so a tick in between writes to a closed socket
// and memberlist logs "ERROR ... use of closed network connection" on
// a clean stop. The node has already left (Close leaves first), so a
// packet sent then carries nothing a peer needs; it is dropped and
// reported sent, as a lossy network would. The lock makes stop wait for a
// write in progress, so none reaches the socket after it closes.
type stoppingTransport struct {
	memberlist.NodeAwareTransport

	mu      sync.RWMutex
	stopped bool
}

// stop makes every later write a silent drop; it returns once no write
// is in progress.
func (t *stoppingTransport) stop() {
	t.mu.Lock()
	t.stopped = true
	t.mu.Unlock()
}

// WriteTo implements memberlist.Transport.
func (t *stoppingTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.stopped {
		return time.Now(), nil
	}
	return t.NodeAwareTransport.WriteTo(b, addr)
}

// WriteToAddress implements memberlist.NodeAwareTransport.
func (t *stoppingTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.stopped {
		return time.Now(), nil
	}
	return t.NodeAwareTransport.WriteToAddress(b, a)
}
