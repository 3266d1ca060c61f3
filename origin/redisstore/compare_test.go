package redisstore_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/redistest"
)

// EnvCompare turns on TestReserveVsRedisBenchmark (bench/redis-reserve.sh
// sets it): it takes tens of seconds and wants a quiet machine.
const EnvCompare = "SHORTSTOCK_BENCH_REDIS_COMPARE"

// TestReserveVsRedisBenchmark runs BenchmarkReserve's body and
// redis-benchmark executing the same EVALSHA (same script, same keys and
// arguments, 50 connections, no pipelining) against one dedicated
// redis-server, and reports both rates and their ratio. The design target
// is a ratio of at least 0.5.
//
// Knobs: SHORTSTOCK_BENCH_APPENDFSYNC (default everysec),
// SHORTSTOCK_BENCH_REQUESTS (redis-benchmark -n, default 200000),
// SHORTSTOCK_BENCH_ROUNDS (default 2; the best round of each side counts).
func TestReserveVsRedisBenchmark(t *testing.T) {
	if os.Getenv(EnvCompare) == "" {
		t.Skipf("set %s=1 (or run bench/redis-reserve.sh) to compare with redis-benchmark", EnvCompare)
	}
	rb, err := exec.LookPath("redis-benchmark")
	if err != nil {
		t.Fatalf("redis-benchmark not found: %v", err)
	}
	fsync := envOr("SHORTSTOCK_BENCH_APPENDFSYNC", "everysec")
	requests := envOr("SHORTSTOCK_BENCH_REQUESTS", "200000")
	rounds, _ := strconv.Atoi(envOr("SHORTSTOCK_BENCH_ROUNDS", "2"))
	srv, err := redistest.StartServer(redistest.ServerOptions{AppendFsync: fsync})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	flush := func() {
		if _, err := redistest.Do(srv.Addr, 30*time.Second, "FLUSHALL"); err != nil {
			t.Fatal(err)
		}
	}

	var bestGo, bestRB float64
	for round := 1; round <= max(rounds, 1); round++ {
		flush()
		s := openOn(t, []string{srv.Addr}, benchConfig)
		res := testing.Benchmark(func(b *testing.B) { benchReserve(b, s) })
		goRate := float64(res.N) / res.T.Seconds()
		s.Close()

		flush()
		s = openOn(t, []string{srv.Addr}, benchConfig)
		if _, err := s.SetStock(context.Background(), benchSKU, "w1", 1<<45); err != nil {
			t.Fatal(err)
		}
		args := append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(srv.Port),
			"-n", requests, "-c", strconv.Itoa(benchClients), "-P", "1", "-r", "1000000000", "-q"},
			s.RedisBenchmarkReserveArgs(benchSKU, benchNow, time.Hour)...)
		out, err := exec.Command(rb, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("redis-benchmark: %v\n%s", err, out)
		}
		rbRate, err := parseRPS(string(out))
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		// The script must really have reserved: a wrong argument would make
		// redis-benchmark time a cheap error reply instead.
		v, err := s.GetStock(context.Background(), benchSKU)
		if err != nil || v.Warehouses["w1"].Reserved < 1000 {
			t.Fatalf("redis-benchmark did not reserve: %+v %v\n%s", v, err, out)
		}
		s.Close()
		t.Logf("round %d: Go store %.0f reservations/s (%d ops, %s/op, %d allocs/op); redis-benchmark EVALSHA %.0f requests/s",
			round, goRate, res.N, time.Duration(res.NsPerOp()), res.AllocsPerOp(), rbRate)
		bestGo, bestRB = max(bestGo, goRate), max(bestRB, rbRate)
	}
	ratio := bestGo / bestRB
	fmt.Printf("\nredis-server appendfsync=%s, %d clients, best of %d rounds, reserve = 1 EVALSHA of lua/reserve.lua\n", fsync, benchClients, rounds)
	fmt.Printf("  Go store (redisstore.Reserve, go-redis):   %9.0f reservations/s\n", bestGo)
	fmt.Printf("  redis-benchmark EVALSHA (-c %d -P 1):       %9.0f requests/s\n", benchClients, bestRB)
	fmt.Printf("  ratio Go / redis-benchmark:                 %9.2f (target >= 0.50)\n\n", ratio)
	if ratio < 0.5 {
		t.Errorf("ratio %.2f is below the 0.5 target", ratio)
	}
}

var rpsRE = regexp.MustCompile(`([0-9]+(?:\.[0-9]+)?) requests per second`)

func parseRPS(out string) (float64, error) {
	// -q prints progress lines ending in \r before the summary; the last
	// match is the summary.
	m := rpsRE.FindAllStringSubmatch(strings.ReplaceAll(out, "\r", "\n"), -1)
	if len(m) == 0 {
		return 0, fmt.Errorf("no requests-per-second figure in redis-benchmark output")
	}
	return strconv.ParseFloat(m[len(m)-1][1], 64)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
