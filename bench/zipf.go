package bench

import (
	"math"
	"math/rand/v2"
)

// MinZipfS and MaxZipfS bound the skew: math/rand's Zipf needs s > 1, and
// past 5 nearly every draw is the first key.
const (
	MinZipfS = 1.0001
	MaxZipfS = 5
)

// newZipf draws key ranks 0..n-1 with P(k) proportional to 1/(1+k)^s: the
// few hot keys most requests ask for, and a long tail. Rank k is key k.
func newZipf(r *rand.Rand, s float64, n int) *rand.Zipf {
	return rand.NewZipf(r, s, 1, uint64(max(0, n-1)))
}

// zipfShare is the probability of rank k among n keys at skew s: what a
// perfect draw would give, for the tests and the report.
func zipfShare(s float64, n, k int) float64 {
	var h float64
	for i := range n {
		h += math.Pow(1+float64(i), -s)
	}
	return math.Pow(1+float64(k), -s) / h
}
