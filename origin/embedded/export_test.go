package embedded

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
