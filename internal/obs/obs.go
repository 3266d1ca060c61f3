package obs

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// Namespace prefixes every shortstock metric.
const Namespace = "shortstock"

// Name is a metric's full name: shortstock_<component>_<name>, e.g.
// Name("edge", "answers_total") is "shortstock_edge_answers_total".
func Name(component, name string) string {
	return prometheus.BuildFQName(Namespace, component, name)
}

// NewRegistry is a fresh registry holding the Go runtime and process
// collectors, as every shortstock server exposes them.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Defaults fills a component's unset Registerer and Gatherer: with neither
// set, both are one new registry (NewRegistry); with only a Registerer,
// metrics are gathered from prometheus.DefaultGatherer.
func Defaults(reg prometheus.Registerer, gat prometheus.Gatherer) (prometheus.Registerer, prometheus.Gatherer) {
	if reg == nil {
		r := NewRegistry()
		reg = r
		if gat == nil {
			gat = r
		}
	}
	if gat == nil {
		gat = prometheus.DefaultGatherer
	}
	return reg, gat
}

// Handler serves g's metrics in the Prometheus text format over net/http.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}

// FastHandler is Handler for a fasthttp server.
func FastHandler(g prometheus.Gatherer) fasthttp.RequestHandler {
	return fasthttpadaptor.NewFastHTTPHandler(Handler(g))
}
