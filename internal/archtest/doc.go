// Package archtest holds the tests that keep every import pointing down the
// floors of docs/architecture.md, for package code and test code alike:
//
//	floor 4  cmd/shortstock, topology, bench, faults, deploy (the wiring layer)
//	floor 3  origin, edge, gossip             (servers; never each other)
//	floor 2  origin/embedded, origin/redisstore, origin/storetest,
//	         origin/adminsec, origin/ledger   (on origin/store only)
//	         origin/purgehook                 (leaves only)
//	floor 1  origin/store, edge/cache         (contracts, caches)
//	floor 0  internal/*                       (leaves: nothing of ours above)
//
// Only the wiring layer imports several top-level parts. Each package's
// allowed imports are listed in rules; a package no rule covers fails the
// test, so a new package gets a rule when it is added.
//
// It also holds every package with tests to a TestMain that fails the run
// when a goroutine outlives the tests (goleak, or testutil.VerifyNoLeaks,
// which ignores only fasthttp's process-wide goroutines).
package archtest
