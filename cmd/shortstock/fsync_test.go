package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/redistest"
	"github.com/shortstock/shortstock/internal/testutil"
	"github.com/shortstock/shortstock/origin/embedded"
)

// A power loss, unlike kill -9, loses what sits in the page cache: only an
// fsync/fdatasync makes a write durable. The real origin binary runs under
// strace, which records every write to its data file, every sync of it and
// every HTTP answer it writes to a socket, in order. Each 2xx answer must
// come after a sync that followed the last write to the data file, and
// there must be a sync for every acknowledged write (they are sequential,
// so none can share a commit). Skipping fsync (embedded.Config.NoSync, or
// bbolt's) makes this fail; a crash test (TestOriginSurvivesKill9) cannot
// tell.
//
// The store also writes on its own: the ledger indexer commits a little
// after a stock write, and its commit may be under way when the answer of
// an already synced write goes out. So an answer written while the file is
// dirty is only at fault when no commit has finished since its request was
// read: the dirty writes are then the request's own.
func TestEmbeddedAcknowledgesOnlyAfterFsync(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		needTool(t, "strace (apt-get install strace; scripts/test installs it)")
	}
	dir, trace := t.TempDir(), filepath.Join(t.TempDir(), "trace")
	addr := testutil.FreeAddr(t)
	cmd := exec.Command(strace, "-f", "-qq", "-y", "-s", "12", "-o", trace,
		"-e", "trace=read,pwrite64,pwritev,pwritev2,write,writev,fsync,fdatasync",
		binary, "origin", "--listen", addr, "--data-dir", dir, "--internal-insecure", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "SHORTSTOCK_ADMIN_KEY="+adminKey)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr testutil.LockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}) // closed when strace (and so the origin) has exited
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func(sig syscall.Signal) {
		_ = syscall.Kill(-cmd.Process.Pid, sig) // the group: strace and the origin it runs
	}
	t.Cleanup(func() {
		stop(syscall.SIGKILL)
		<-done
	})
	base := "http://" + addr
	if !waitUp(base+"/_/readyz", 60*time.Second, done) {
		if b, _ := os.ReadFile(trace); strings.Contains(stderr.String(), "ptrace") || len(b) == 0 {
			needTool(t, "ptrace for strace: "+stderr.String())
		}
		t.Fatalf("origin under strace never became ready:\n%s", stderr.String())
	}

	acks := 0
	for i := 0; i < 20; i++ {
		if c, _ := call(t, "POST", base+"/v1/links", fmt.Sprintf(`{"url":"https://e.example/%d","code":"sync%d"}`, i, i)); c != 201 {
			t.Fatalf("create %d: %d", i, c)
		}
		if c, _ := call(t, "PUT", fmt.Sprintf("%s/v1/stock/SYNC-%d/w", base, i), `{"on_hand":5}`); c != 200 {
			t.Fatalf("stock %d: %d", i, c)
		}
		acks += 2
	}
	stop(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("origin under strace did not stop")
	}

	f, err := os.Open(trace)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a := newSyncAudit(filepath.Join(dir, embedded.FileName))
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		a.line(s.Text())
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("fsync: acked_writes=%d write_requests=%d answers_2xx=%d answers_after_unsynced_write=%d data_file_writes=%d data_file_syncs=%d",
		acks, a.requests, a.answers, a.unsynced, a.writes, a.syncs)
	if a.requests < acks {
		t.Fatalf("the trace holds %d write requests, fewer than the %d sent: the audit is not seeing them", a.requests, acks)
	}
	if a.answers < acks {
		t.Fatalf("the trace holds %d 2xx answers, fewer than the %d writes acknowledged: the audit is not seeing them", a.answers, acks)
	}
	if a.writes == 0 {
		t.Fatal("no write to the data file was traced")
	}
	if a.unsynced > 0 {
		t.Errorf("%d answers were written while the data file held writes not yet synced (first: %s)", a.unsynced, a.first)
	}
	if a.syncs < acks {
		t.Errorf("%d syncs of the data file for %d sequential acknowledged writes", a.syncs, acks)
	}
}

// syncAudit reads an strace -f -y log in order.
type syncAudit struct {
	db                      string
	dirty                   bool
	syncedSinceRequest      bool            // a sync has left db clean since the last request was read
	pendingSync             map[string]bool // pid -> an unfinished sync of db
	pendingRead             map[string]bool // pid -> an unfinished read of a socket
	answers, unsynced       int
	requests                int
	writes, syncs           int
	first                   string
	call                    *regexp.Regexp
	resumed                 *regexp.Regexp
	dbWrite, dbSync, answer func(args string) bool
}

// writeMethod matches the start of a read buffer that starts a write
// request (POST, PUT, PATCH or DELETE). On a kept-alive connection fasthttp
// reads a request's first byte alone, then the rest.
var writeMethod = regexp.MustCompile(`^"[PD]`)

func onSocket(args string) bool {
	fd, _, _ := strings.Cut(args, ",")
	return strings.Contains(fd, "socket:") || strings.Contains(fd, "TCP")
}

func newSyncAudit(db string) *syncAudit {
	a := &syncAudit{db: db, pendingSync: map[string]bool{}, pendingRead: map[string]bool{},
		call:    regexp.MustCompile(`^(\d+)\s+(\w+)\((.*)$`),
		resumed: regexp.MustCompile(`^(\d+)\s+<\.\.\. (\w+) resumed>(.*)$`),
	}
	// With -y strace prints every fd as 3</path>; the fd is the first
	// argument (the sync calls have no other).
	onDB := func(args string) bool {
		fd, _, _ := strings.Cut(args, ",")
		return strings.Contains(fd, "<"+db+">")
	}
	a.dbWrite, a.dbSync = onDB, onDB
	a.answer = func(args string) bool {
		_, rest, _ := strings.Cut(args, ",")
		return onSocket(args) && strings.Contains(rest, `"HTTP/1.1 2`)
	}
	return a
}

// returnedOK reports whether a call's line shows it returned successfully.
func returnedOK(rest string) bool {
	i := strings.LastIndex(rest, " = ")
	return i >= 0 && !strings.HasPrefix(rest[i+3:], "-1")
}

func (a *syncAudit) line(l string) {
	if m := a.resumed.FindStringSubmatch(l); m != nil {
		if m[2] == "read" && a.pendingRead[m[1]] {
			delete(a.pendingRead, m[1])
			a.read(strings.TrimSpace(m[3]))
			return
		}
		if (m[2] == "fsync" || m[2] == "fdatasync") && a.pendingSync[m[1]] {
			delete(a.pendingSync, m[1])
			if returnedOK(m[3]) {
				a.synced()
			}
		}
		return
	}
	m := a.call.FindStringSubmatch(l)
	if m == nil {
		return
	}
	pid, name, args := m[1], m[2], m[3]
	switch name {
	case "read":
		if !onSocket(args) {
			return
		}
		if strings.HasSuffix(args, "<unfinished ...>") {
			a.pendingRead[pid] = true
			return
		}
		_, buf, _ := strings.Cut(args, ", ")
		a.read(buf)
	case "pwrite64", "pwritev", "pwritev2", "write", "writev":
		if a.dbWrite(args) {
			// Counted when it starts: from then on the file may differ from
			// what is on disk.
			a.writes++
			a.dirty = true
		} else if a.answer(args) {
			a.answers++
			if a.dirty && !a.syncedSinceRequest {
				a.unsynced++
				if a.first == "" {
					a.first = l
				}
			}
		}
	case "fsync", "fdatasync":
		if !a.dbSync(args) {
			return
		}
		if strings.HasSuffix(args, "<unfinished ...>") {
			a.pendingSync[pid] = true // durable only once it returns
		} else if returnedOK(args) {
			a.synced()
		}
	}
}

func (a *syncAudit) synced() {
	a.syncs++
	a.dirty = false
	a.syncedSinceRequest = true
}

// read sees the buffer a socket read returned; a write request starts the
// window in which its own commit must finish before its answer.
func (a *syncAudit) read(buf string) {
	if writeMethod.MatchString(buf) {
		a.requests++
		a.syncedSinceRequest = false
	}
}

// waitUp polls url until it answers 200, the process ends or the time is up.
func waitUp(url string, within time.Duration, done <-chan struct{}) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return false
		default:
		}
		if r, err := http.Get(url); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// needTool skips t, or fails it in CI (CI=true), where a missing
// dependency must never pass silently.
func needTool(t *testing.T, what string) {
	t.Helper()
	if redistest.InCI() {
		t.Fatalf("%s is required in CI (CI=true)", what)
	}
	t.Skipf("%s unavailable", what)
}
