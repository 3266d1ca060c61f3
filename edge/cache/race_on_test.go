//go:build race

package cache

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// ristretto's pooled access buffers get reallocated and allocation counts
// mean nothing.
const raceEnabled = true
