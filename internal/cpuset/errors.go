package cpuset

import "errors"

// ErrBadList: a CPU list that does not parse, or names a CPU out of range.
var ErrBadList = errors.New("bad CPU list")

// ErrUnsupported: pinning is not available on this system (Linux only).
var ErrUnsupported = errors.New("pinning to CPUs is supported on Linux only")
