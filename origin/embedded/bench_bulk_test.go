package embedded_test

import (
	"testing"

	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/storetest"
)

// BenchmarkBulk measures a bulk job's lines/s on disk (fsync on): one
// transaction per chunk of 1000 lines, each line a full ledgered adjust.
//
//	go test -run '^$' -bench BenchmarkBulk -benchtime 200000x ./origin/embedded/
func BenchmarkBulk(b *testing.B) {
	storetest.BenchBulk(b, open(b, embedded.DefaultConfig(b.TempDir())))
}
