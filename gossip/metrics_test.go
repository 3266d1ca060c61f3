package gossip

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// gathered returns metric name{labels} -> value for the registry's
// shortstock_gossip_ metrics.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]float64)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, lp := range m.GetLabel() {
				ls = append(ls, lp.GetName()+"="+lp.GetValue())
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			out[mf.GetName()+"{"+strings.Join(ls, ",")+"}"] = v
		}
	}
	return out
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	nodes := startCluster(t, 2, func(_ int, c *Config) { c.Metrics = reg })
	if err := nodes[0].Publish(linkChange("m", 1)); err != nil {
		t.Fatal(err)
	}
	(&delegate{n: nodes[1].Node}).NotifyMsg([]byte{0xee})
	waitFor(t, 2*time.Second, "delivery", func() bool { return nodes[1].rec.version("l:m") == 1 })

	m := gathered(t, reg)
	lb := "node=" + nodes[1].Name() + ",region=test"
	for name, want := range map[string]float64{
		"shortstock_gossip_members{" + lb + "}":                                                                2,
		"shortstock_gossip_changes_delivered_total{" + lb + "}":                                                1,
		"shortstock_gossip_messages_dropped_total{node=" + nodes[1].Name() + ",reason=malformed,region=test}":  1,
		"shortstock_gossip_messages_dropped_total{node=" + nodes[1].Name() + ",reason=queue_full,region=test}": 0,
	} {
		if got, ok := m[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	// The direct packet, and maybe gossip's copy too (a duplicate).
	if got := m["shortstock_gossip_messages_received_total{"+lb+"}"]; got < 1 || got > 2 {
		t.Errorf("received %v changes, want 1 or 2", got)
	}
	// The direct packet went before the change was delivered; gossip's
	// copy (messages_sent_total) may not have had its round yet.
	if m["shortstock_gossip_direct_packets_total{node="+nodes[0].Name()+",region=test,result=sent}"] != 1 {
		t.Error("publisher reports no direct packet sent")
	}
	if _, ok := m["shortstock_gossip_messages_sent_total{node="+nodes[0].Name()+",region=test}"]; !ok {
		t.Error("publisher has no messages_sent_total")
	}
	if _, ok := m["shortstock_gossip_broadcast_queue_depth{"+lb+"}"]; !ok {
		t.Error("no queue depth gauge")
	}

	// Closing unregisters, so a node of the same name can start again on
	// the same registry.
	name := nodes[1].Name()
	if err := nodes[1].Close(); err != nil {
		t.Fatal(err)
	}
	startNode(t, name, "test", func(c *Config) { c.Metrics = reg })
}
