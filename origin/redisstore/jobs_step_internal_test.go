package redisstore

import "testing"

// A step takes enough chunks to put ~16 lines in each partition it
// touches, and never more than maxChunksPerStep.
func TestStepChunks(t *testing.T) {
	for n, want := range map[int]int{1: 1, 64: 2, 128: 3, 256: 5, 1024: maxChunksPerStep, 16384: maxChunksPerStep} {
		if got := stepChunks(n); got != want {
			t.Errorf("stepChunks(%d) = %d, want %d", n, got, want)
		}
	}
}
