package embedded

// SetBenchNoLedger makes s skip the ledger on every stock write: the
// "before the ledger" side of BenchmarkAdjust only.
func SetBenchNoLedger(s *Store) { s.benchNoLedger = true }
