// Package testutil holds helpers that tests in several packages share:
// free loopback addresses for servers and gossip, and heap and resident
// memory readings for the memory benchmarks. Only tests import it.
package testutil
