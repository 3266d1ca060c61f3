package embedded_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/store"
)

// crashChildEnv makes the test binary the crashing writer of
// TestCrashKeepsAcknowledgedWrites instead of running tests.
const crashChildEnv = "SHORTSTOCK_EMBEDDED_CRASH_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	// Every goroutine a Store starts is stopped and awaited by Close.
	goleak.VerifyTestMain(m)
}

// crashChild writes from several goroutines forever, printing "ack N"
// after write N is acknowledged, until the parent kills it.
func crashChild(dir string) {
	s, err := embedded.Open(embedded.DefaultConfig(dir))
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var next int
	for range 8 {
		go func() {
			for {
				mu.Lock()
				n := next
				next++
				mu.Unlock()
				code := fmt.Sprintf("crash-%d", n)
				_, err := s.CreateLink(contextBackground(), store.NewLink{Code: code, URL: "https://example.com/" + code, Redirect: 302, CreatedAt: t0})
				if err == nil {
					_, err = s.Reserve(contextBackground(), store.ReserveRequest{
						ID: keys.NewReservationID(keys.DefaultSpace().Partition(keys.KindStock, "crash")), SKU: "crash", Warehouse: "w1", Qty: 1, Now: t0, TTL: time.Hour,
						IdempotencyKey: code,
					})
				}
				mu.Lock()
				if err != nil {
					fmt.Fprintf(out, "err %d %v\n", n, err)
				} else {
					fmt.Fprintf(out, "ack %d\n", n)
				}
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	if _, err := s.SetStock(contextBackground(), "crash", "w1", 1<<40); err != nil {
		fmt.Println("setstock:", err)
	}
	select {}
}

// TestCrashKeepsAcknowledgedWrites kills a writing process with SIGKILL
// (no Close, no deferred anything) and checks that the file opens cleanly
// and holds every write the process acknowledged, each with its change.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[int]bool{}
	sc := bufio.NewScanner(stdout)
	deadline := time.Now().Add(20 * time.Second)
	for len(acked) < 300 && time.Now().Before(deadline) && sc.Scan() {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, "ack "); ok {
			i, _ := strconv.Atoi(n)
			acked[i] = true
		} else if !strings.HasPrefix(line, "err ") || !strings.Contains(line, "not found") {
			// "not found" is a reservation racing the SetStock: harmless.
			t.Errorf("child: %s", line)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(acked) < 300 {
		t.Fatalf("child acknowledged only %d writes", len(acked))
	}

	s := open(t, embedded.DefaultConfig(dir))
	ctx := t.Context()
	for i := range acked {
		code := fmt.Sprintf("crash-%d", i)
		if l, err := s.GetLink(ctx, code); err != nil || l.Version != 1 {
			t.Fatalf("acknowledged link %s after the crash: %+v, %v", code, l, err)
		}
	}
	v, err := s.GetStock(ctx, "crash")
	if err != nil {
		t.Fatal(err)
	}
	if r := v.Warehouses["w1"].Reserved; r < int64(len(acked)) {
		t.Fatalf("reserved %d after the crash, but %d reservations were acknowledged", r, len(acked))
	}
	heads, err := s.Heads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Every link and every stock write has its change, no more: the links
	// that exist (acknowledged or not) each have version 1, the SKU has its
	// version.
	var links uint64
	for p := range keys.DefaultPartitions {
		page, err := s.Changes(ctx, p, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if uint64(len(page.Changes)) != heads[p] {
			t.Fatalf("partition %d: %d changes, head %d", p, len(page.Changes), heads[p])
		}
		for _, c := range page.Changes {
			if k, _, _ := keys.Split(c.Key); k == keys.KindLink {
				links++
			}
		}
	}
	var total uint64
	for _, h := range heads {
		total += h
	}
	if total != links+v.Version {
		t.Fatalf("%d changes for %d links and stock version %d", total, links, v.Version)
	}
	if uint64(v.Warehouses["w1"].Reserved)+1 != v.Version {
		t.Fatalf("stock version %d after %d reservations and one SetStock", v.Version, v.Warehouses["w1"].Reserved)
	}
}
