package bench

import "errors"

var (
	// ErrConfig wraps every invalid setting Run refuses before doing any
	// work; callers may treat it as a usage error.
	ErrConfig = errors.New("bench: invalid config")
	// ErrTarget wraps failures to reach or understand the targets: a
	// topology file that does not parse, an edge or origin that does not
	// answer, an embedded topology that does not start.
	ErrTarget = errors.New("bench: target unusable")
	// ErrSeed wraps failures to create the key set through the admin API.
	ErrSeed = errors.New("bench: seeding failed")
	// ErrAudit wraps failures to read the final stock state for the audit.
	ErrAudit = errors.New("bench: stock audit could not run")
	// ErrOversell is returned (with the report) when the stock audit found
	// an oversell: the one result that is a correctness failure, not a
	// measurement.
	ErrOversell = errors.New("bench: stock audit found oversells")
	// ErrReport wraps failures to write the JSON file or the HTML report.
	ErrReport = errors.New("bench: writing the report failed")
)
