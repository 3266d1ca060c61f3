// Package obs is the one place that sets up Prometheus for shortstock's
// servers: a registry with the Go and process collectors (NewRegistry,
// Defaults), its scrape handler for net/http (Handler) and for fasthttp
// (FastHandler), and the naming rule for metrics (Name):
// shortstock_<component>_<name>, with _total on counters, _seconds and
// _bytes for units.
//
// It is an internal leaf: it imports nothing of shortstock's, and origin,
// edge, gossip and the wiring layer import it.
package obs
