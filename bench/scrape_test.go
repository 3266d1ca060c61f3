package bench

import "testing"

func TestParseMetrics(t *testing.T) {
	text := []byte(`# HELP shortstock_edge_origin_requests_total Requests to origins by endpoint.
# TYPE shortstock_edge_origin_requests_total counter
shortstock_edge_origin_requests_total{endpoint="link",node="e1",region="us-east"} 12
shortstock_edge_origin_requests_total{endpoint="stock",node="e1",region="us-east"} 3
shortstock_edge_origin_requests_total{endpoint="link",node="e2",region="us-east"} 5
shortstock_origin_requests_total{route="GET /v1/links/{code}",status="200"} 7
go_goroutines 42
bad line
`)
	ss := parseMetrics(text)
	got := counters(ss, metricEdgeOriginCalls, "endpoint")
	if got["link"] != 17 || got["stock"] != 3 || len(got) != 2 {
		t.Errorf("edge origin calls %v", got)
	}
	if r := counters(ss, metricOriginRequests, "route"); r["GET /v1/links/{code}"] != 7 {
		t.Errorf("origin requests %v", r)
	}
	if d := counterDelta(map[string]float64{"link": 10}, got); d["link"] != 7 || d["stock"] != 3 {
		t.Errorf("delta %v", d)
	}
	if v := label(`a="x\"y",endpoint="z"`, "endpoint"); v != "z" {
		t.Errorf("label %q", v)
	}
}
