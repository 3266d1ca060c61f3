//go:build race

package edge

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// pooled buffers get reallocated and allocation counts mean nothing.
const raceEnabled = true
