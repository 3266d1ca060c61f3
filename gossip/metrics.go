package gossip

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shortstock/shortstock/internal/obs"
)

// Stats are a Node's counters since it started, for tests, readiness checks
// and logs; the same numbers are exported to Prometheus.
type Stats struct {
	// Members is the number of alive members, this node included.
	Members int
	// QueueDepth is the number of broadcasts waiting to be sent.
	QueueDepth int
	// Sent counts change messages handed to memberlist for transmission
	// (one per change per peer per transmission).
	Sent uint64
	// Received counts well-formed changes received.
	Received uint64
	// Delivered counts changes given to the Handler.
	Delivered uint64
	// Duplicates counts received changes not newer than one already seen.
	Duplicates uint64
	// DroppedMalformed counts messages that did not decode.
	DroppedMalformed uint64
	// DroppedQueueFull counts new changes dropped because the delivery
	// queue was full.
	DroppedQueueFull uint64
	// Pruned counts broadcasts dropped to keep the queue under
	// MaxQueuedBroadcasts.
	Pruned uint64
	// BadState counts push/pull state records that did not decode.
	BadState uint64
	// DirectSent counts packets the publisher sent straight to a member
	// (one per member per batch); DirectFailed those the transport
	// refused. See Config.NoDirectPush.
	DirectSent, DirectFailed uint64
	// DroppedUnauthenticated counts sealed direct packets that no key of
	// the keyring opened with this region's label (see sealed.go).
	DroppedUnauthenticated uint64
}

// counters are the atomics behind Stats.
type counters struct {
	sent, received, delivered, duplicates  atomic.Uint64
	malformed, queueFull, pruned, badState atomic.Uint64
	directSent, directFailed               atomic.Uint64
	unauthenticated                        atomic.Uint64
	rounds                                 atomic.Uint64 // gossipLoop rounds
}

// collector exports a Node's Stats. It reads them at scrape time, so the
// Node needs no goroutine to keep gauges current. Labels: region, and node,
// because the demo and tests run several members of one region in one
// process and they must not collide in a shared registry.
type collector struct {
	n *Node

	members, queueDepth, sent, received, delivered, duplicates, dropped, badState, direct *prometheus.Desc
}

func newCollector(n *Node) *collector {
	labels := prometheus.Labels{"region": n.cfg.Region, "node": n.cfg.NodeName}
	d := func(name, help string, varLabels ...string) *prometheus.Desc {
		return prometheus.NewDesc(obs.Name("gossip", name), help, varLabels, labels)
	}
	return &collector{
		n:          n,
		members:    d("members", "Alive members of the gossip pool, this node included."),
		queueDepth: d("broadcast_queue_depth", "Broadcasts waiting to be sent."),
		sent:       d("messages_sent_total", "Change messages handed to memberlist for transmission."),
		received:   d("messages_received_total", "Well-formed changes received."),
		delivered:  d("changes_delivered_total", "Changes given to the handler."),
		duplicates: d("changes_duplicate_total", "Received changes not newer than one already seen."),
		dropped:    d("messages_dropped_total", "Messages or changes dropped, by reason.", "reason"),
		badState:   d("state_malformed_total", "Push/pull state records that did not decode."),
		direct:     d("direct_packets_total", "Packets of changes the publisher sent straight to a member, by result.", "result"),
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.members, c.queueDepth, c.sent, c.received, c.delivered, c.duplicates, c.dropped, c.badState, c.direct} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.n.Stats()
	emit := func(d *prometheus.Desc, t prometheus.ValueType, v float64, lv ...string) {
		if m, err := prometheus.NewConstMetric(d, t, v, lv...); err == nil {
			ch <- m
		}
	}
	emit(c.members, prometheus.GaugeValue, float64(s.Members))
	emit(c.queueDepth, prometheus.GaugeValue, float64(s.QueueDepth))
	emit(c.sent, prometheus.CounterValue, float64(s.Sent))
	emit(c.received, prometheus.CounterValue, float64(s.Received))
	emit(c.delivered, prometheus.CounterValue, float64(s.Delivered))
	emit(c.duplicates, prometheus.CounterValue, float64(s.Duplicates))
	emit(c.dropped, prometheus.CounterValue, float64(s.DroppedMalformed), "malformed")
	emit(c.dropped, prometheus.CounterValue, float64(s.DroppedQueueFull), "queue_full")
	emit(c.dropped, prometheus.CounterValue, float64(s.Pruned), "pruned")
	emit(c.dropped, prometheus.CounterValue, float64(s.DroppedUnauthenticated), "unauthenticated")
	emit(c.badState, prometheus.CounterValue, float64(s.BadState))
	emit(c.direct, prometheus.CounterValue, float64(s.DirectSent), "sent")
	emit(c.direct, prometheus.CounterValue, float64(s.DirectFailed), "failed")
}
