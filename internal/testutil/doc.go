// Package testutil holds helpers that tests in several packages share:
// free loopback addresses for servers and gossip, heap and resident
// memory readings for the memory benchmarks, and a small GeoIP database
// writer (mmdb.go). Only tests import it.
package testutil
