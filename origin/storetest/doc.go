// Package storetest is the conformance suite of store.Store. Every backend
// runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t) })
//	}
//
// The suite checks the contract as store.Store documents it, with real
// values: versions (start at 1, +1 per write, kept across deletes), the
// change log (exactly one change per write, contiguous seqs per partition,
// nothing for reads, clicks or failed writes), stock arithmetic, the
// reservation state machine, idempotency, hold expiry, and no oversell
// under concurrency, checked exactly against a model of what the store
// acknowledged.
//
// Time never comes from sleeping: reservations and expiries use explicit
// times, so the suite is fast and deterministic enough to run against a
// real Redis (standalone and cluster) as well as the embedded store.
//
// The files are not _test files on purpose: backends import the package
// from their own tests.
package storetest
