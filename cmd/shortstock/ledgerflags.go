package main

import (
	"flag"
	"strconv"
	"strings"
	"time"
)

// ledgerRetentionFlag is --ledger-retention: 0 keeps every movement (the
// default), else whole days ("90d") or a duration of at least a minute.
// The flag package prints its error as one line and main exits 2.
type ledgerRetentionFlag struct{ d *time.Duration }

func (r ledgerRetentionFlag) String() string {
	if r.d == nil || *r.d == 0 {
		return "0"
	}
	if *r.d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(*r.d/(24*time.Hour)), 10) + "d"
	}
	return r.d.String()
}

func (r ledgerRetentionFlag) Set(v string) error {
	if v == "0" {
		*r.d = 0
		return nil
	}
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 1 || days > 100*366 {
			return errBadLedgerRetention
		}
		*r.d = time.Duration(days) * 24 * time.Hour
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Minute {
		return errBadLedgerRetention
	}
	*r.d = d
	return nil
}

type ledgerRetentionError struct{}

func (ledgerRetentionError) Error() string {
	return "want 0 (keep every movement), whole days (90d) or a duration of at least 1m"
}

var errBadLedgerRetention = ledgerRetentionError{}

// registerLedgerRetention adds --ledger-retention to an origin's flags.
func registerLedgerRetention(fs *flag.FlagSet, d *time.Duration) {
	fs.Var(ledgerRetentionFlag{d}, "ledger-retention", "how long stock movements are kept; older ones are trimmed in the background, each warehouse keeping its balance as an opening movement (0: keep all)")
}
