package embedded

import bolt "go.etcd.io/bbolt"

// SetBenchNoLedger makes s skip the ledger on every stock write: the
// "before the ledger" side of BenchmarkAdjust only.
func SetBenchNoLedger(s *Store) { s.benchNoLedger = true }

// BenchWriteStats reports the pages bbolt allocated and the page writes
// it made so far (TxStats: PageAlloc is in bytes, Write counts pages
// written), for a benchmark to say what each operation cost on disk.
func BenchWriteStats(s *Store) (pageBytes, writes int64) {
	st := s.db.Stats().TxStats
	return st.GetPageAlloc(), st.GetWrite()
}

// IndexLedger moves the whole ledger tail into the partitions' trees now
// (what the background indexer does LedgerIndexInterval after a write).
func IndexLedger(s *Store) error { return s.indexLedger(s.ctx) }

// LedgerTailLen is how many movements wait in the ledger's tail.
func LedgerTailLen(s *Store) (n int, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketLedgerTail).Stats().KeyN
		return nil
	})
	return n, err
}

// FileHeads reads every partition's change-log head from the file in one
// read transaction (what Heads read before it kept them in memory).
func FileHeads(s *Store) (heads []uint64, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		heads, err = readHeads(tx, s.space.N())
		return err
	})
	return heads, err
}

// ClickWrites is how many writes applied click batches so far.
func ClickWrites(s *Store) int64 { return s.clickWrites.Load() }

// ClickBatchesWaiting is how many click batches wait for a merged write.
func ClickBatchesWaiting(s *Store) int {
	s.clickMerge.mu.Lock()
	defer s.clickMerge.mu.Unlock()
	return len(s.clickMerge.waiting)
}
