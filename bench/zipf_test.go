package bench

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The key draws follow the Zipf law they claim: each of the hottest ranks
// gets its theoretical share (within 5 % relative), hotter ranks are drawn
// more, a higher s concentrates more, and every draw is a valid key.
func TestZipfDraws(t *testing.T) {
	const n, draws = 1000, 400_000
	for _, s := range []float64{1.1, 1.5} {
		z := newZipf(rand.New(rand.NewPCG(1, 2)), s, n)
		counts := make([]int, n)
		for range draws {
			k := z.Uint64()
			if k >= n {
				t.Fatalf("s=%v: drew rank %d of %d keys", s, k, n)
			}
			counts[k]++
		}
		for k := range 5 {
			got, want := float64(counts[k])/draws, zipfShare(s, n, k)
			if math.Abs(got-want) > 0.05*want {
				t.Errorf("s=%v rank %d: share %.4f, want %.4f within 5 %%", s, k, got, want)
			}
		}
		if !(counts[0] > counts[1] && counts[1] > counts[2] && counts[2] > counts[10] && counts[10] > counts[500]) {
			t.Errorf("s=%v: counts not decreasing with rank: %d %d %d %d %d", s, counts[0], counts[1], counts[2], counts[10], counts[500])
		}
		t.Logf("s=%v: top key %.1f %% of draws, top 10 %.1f %%", s, 100*float64(counts[0])/draws, 100*float64(sum(counts[:10]))/draws)
	}
	if a, b := zipfShare(1.1, n, 0), zipfShare(1.5, n, 0); b <= a {
		t.Errorf("top share %v at s=1.5 is not above %v at s=1.1", b, a)
	}
}

func sum(xs []int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	return t
}
