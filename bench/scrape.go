package bench

import (
	"bytes"
	"strconv"
	"time"
)

// The metrics the report reads (edge/metrics.go, origin/metrics.go).
const (
	metricEdgeOriginCalls = "shortstock_edge_origin_requests_total" // by endpoint: link, stock, changes, heads, clicks
	metricOriginRequests  = "shortstock_origin_requests_total"      // by route and status
	metricGossipQueue     = "shortstock_gossip_broadcast_queue_depth"
)

// sample is one line of the Prometheus text format.
type sample struct {
	name, labels string
	value        float64
}

// parseMetrics reads the Prometheus text format: enough of it for
// counters (comments skipped, labels kept as text).
func parseMetrics(text []byte) []sample {
	var out []sample
	for line := range bytes.SplitSeq(text, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		var s sample
		rest := line
		if i := bytes.IndexByte(line, '{'); i >= 0 {
			j := bytes.LastIndexByte(line, '}')
			if j < i {
				continue
			}
			s.name, s.labels, rest = string(line[:i]), string(line[i+1:j]), bytes.TrimSpace(line[j+1:])
		} else {
			f := bytes.Fields(line)
			if len(f) < 2 {
				continue
			}
			s.name, rest = string(f[0]), f[1]
		}
		f := bytes.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(string(f[0]), 64)
		if err != nil {
			continue
		}
		s.value = v
		out = append(out, s)
	}
	return out
}

// label returns the value of label name in a labels text.
func label(labels, name string) string {
	key := name + `="`
	for i := 0; i+len(key) <= len(labels); i++ {
		if labels[i:i+len(key)] == key && (i == 0 || labels[i-1] == ',') {
			rest := labels[i+len(key):]
			for j := 0; j < len(rest); j++ {
				switch rest[j] {
				case '\\':
					j++
				case '"':
					return rest[:j]
				}
			}
		}
	}
	return ""
}

// counters sums one metric by the value of one of its labels.
func counters(ss []sample, name, by string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range ss {
		if s.name == name {
			out[label(s.labels, by)] += s.value
		}
	}
	return out
}

// scrapeAll fetches /_/metrics from every host and concatenates the samples.
func scrapeAll(hosts []*host) ([]sample, error) {
	var all []sample
	for _, h := range hosts {
		st, body, err := h.hc.GetTimeout(nil, h.base+"/_/metrics", 5*time.Second)
		if err != nil {
			return nil, err
		}
		if st != 200 {
			continue // not a shortstock node, or no metrics: the report says 0
		}
		all = append(all, parseMetrics(body)...)
	}
	return all, nil
}

// counterDelta is after - before, key by key.
func counterDelta(before, after map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}
