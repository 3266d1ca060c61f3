// Package topology wires shortstock's packages into running nodes: an
// origin node (origin server + HTTP listener + gossip member), an edge node
// (edge server + gossip member), and whole multi-region topologies in one
// process for the demo, the benchmark and end-to-end tests. cmd/shortstock
// and this package are the only places that know how the pieces connect, so
// the wiring exists once.
package topology
