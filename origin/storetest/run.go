package storetest

import (
	"testing"

	"github.com/shortstock/shortstock/origin/store"
)

// test is one conformance check; it gets a fresh, empty store.
type test struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// tests is the whole suite, in the order it runs. Names are stable: other
// packages' CI may select them with -run.
var tests = []test{
	// links.go
	{"LinkCreateGet", testLinkCreateGet},
	{"LinkCodeTaken", testLinkCodeTaken},
	{"LinkUpdate", testLinkUpdate},
	{"LinkExpiry", testLinkExpiry},
	{"LinkDeleteTombstone", testLinkDeleteTombstone},
	{"LinkRecreateAfterDelete", testLinkRecreateAfterDelete},
	{"LinkUnknown", testLinkUnknown},
	{"LinkClicks", testLinkClicks},
	// linkextras.go
	{"LinkExtras", testLinkExtras},
	{"LinkExtrasRefused", testLinkExtrasRefused},
	// list.go
	{"ListLinks", testListLinks},
	{"ListLinksConcurrent", testListLinksConcurrent},
	// visits.go
	{"VisitLeases", testVisitLeases},
	{"VisitLeasesConcurrent", testVisitLeasesConcurrent},
	// stock.go
	{"StockSetAndView", testStockSetAndView},
	{"StockBelowReserved", testStockBelowReserved},
	{"StockAdjust", testStockAdjust},
	{"StockUnknown", testStockUnknown},
	// reservations.go
	{"ReserveExplicitWarehouse", testReserveExplicitWarehouse},
	{"ReservePicksWarehouse", testReservePicksWarehouse},
	{"ReserveInvalid", testReserveInvalid},
	{"ReservationUnknown", testReservationUnknown},
	{"ReservationCommit", testReservationCommit},
	{"ReservationRelease", testReservationRelease},
	{"CommitPastExpiry", testCommitPastExpiry},
	{"ReservationExtend", testReservationExtend},
	// expire.go
	{"ExpireHolds", testExpireHolds},
	{"ExpireHoldsMax", testExpireHoldsMax},
	{"ExpireHoldsConcurrent", testExpireHoldsConcurrent},
	// idempotency.go
	{"IdempotentReplay", testIdempotentReplay},
	{"IdempotentInsufficientReplay", testIdempotentInsufficientReplay},
	{"IdempotencyMismatch", testIdempotencyMismatch},
	// changelog.go
	{"ChangeLogEveryWrite", testChangeLogEveryWrite},
	{"ChangesPaging", testChangesPaging},
	{"ReadsNeverAppend", testReadsNeverAppend},
	// purge.go
	{"PurgeLogged", testPurgeLogged},
	// concurrency.go
	{"ConcurrentReserveExact", testConcurrentReserveExact},
	{"ConcurrentNoOversell", testConcurrentNoOversell},
	// ledger.go
	{"LedgerEveryStockWrite", testLedgerEveryStockWrite},
	{"LedgerRefusedWrites", testLedgerRefusedWrites},
	{"LedgerConcurrentWriters", testLedgerConcurrentWriters},
	{"StockWriteIdempotency", testStockWriteIdempotency},
	{"LedgerVerifyRebuild", testLedgerVerifyRebuild},
	{"LedgerFeed", testLedgerFeed},
	{"LedgerFeedTimeOrder", testLedgerFeedTimeOrder},
	// retention.go
	{"LedgerRetention", testLedgerRetention},
	{"LedgerRetentionConcurrent", testLedgerRetentionConcurrent},
	// jobs.go
	{"JobRunsEveryLine", testJobRunsEveryLine},
	{"JobConcurrentWorkers", testJobConcurrentWorkers},
	{"JobLease", testJobLease},
	{"JobBadInput", testJobBadInput},
	{"LinkJobChunks", testLinkJobChunks},
	// analytics.go
	{"AnalyticsSeries", testAnalyticsSeries},
	{"AnalyticsBatchOnce", testAnalyticsBatchOnce},
	{"AnalyticsTop", testAnalyticsTop},
	{"AnalyticsRetention", testAnalyticsRetention},
	// close.go
	{"PingAndClose", testPingAndClose},
}

// Run runs the conformance suite, each check as a subtest on a store of its
// own. open must return a fresh, empty store (its own directory, key prefix
// or database); the suite closes it when the subtest ends, so open need not,
// though closing twice must be harmless.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			if s == nil {
				t.Fatal("open returned a nil store")
			}
			t.Cleanup(func() { _ = s.Close() })
			tc.fn(t, s)
		})
	}
}

// Names lists the subtests Run runs, in order.
func Names() []string {
	out := make([]string, len(tests))
	for i, tc := range tests {
		out[i] = tc.name
	}
	return out
}
