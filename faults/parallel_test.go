package faults

import "sync"

// forEach calls fn for every item on n goroutines (worker is 0..n-1) and
// returns when all calls have.
func forEach[T any](n int, items []T, fn func(worker int, item T)) {
	ch := make(chan T)
	var wg sync.WaitGroup
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				fn(w, it)
			}
		}()
	}
	for _, it := range items {
		ch <- it
	}
	close(ch)
	wg.Wait()
}
