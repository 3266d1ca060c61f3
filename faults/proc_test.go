package faults

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is one running shortstock process.
type proc struct {
	name string
	cmd  *exec.Cmd
	logs *lineLog
	done chan struct{} // closed when the process has exited
}

// lineLog keeps a process's stderr lines, each with the time it arrived, so
// tests can both show logs on failure and time events the process logged
// (a member declared dead, say).
type lineLog struct {
	mu    sync.Mutex
	lines []logLine
}

type logLine struct {
	at   time.Time
	text string
}

func (l *lineLog) add(s string) {
	l.mu.Lock()
	l.lines = append(l.lines, logLine{time.Now(), s})
	l.mu.Unlock()
}

// since returns the lines that arrived at or after t.
func (l *lineLog) since(t time.Time) []logLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []logLine
	for _, ln := range l.lines {
		if !ln.at.Before(t) {
			out = append(out, ln)
		}
	}
	return out
}

// tail is the last n lines, for failure messages.
func (l *lineLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, ln := range l.lines[max(0, len(l.lines)-n):] {
		b.WriteString(ln.text)
		b.WriteByte('\n')
	}
	return b.String()
}

// startProc runs the binary with args and env (added to the test's own).
// Pdeathsig kills it with the test binary, so an interrupted run leaves
// nothing behind; t.Cleanup kills it otherwise.
func startProc(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &proc{name: name, cmd: cmd, logs: &lineLog{}, done: make(chan struct{})}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		s := bufio.NewScanner(pr)
		s.Buffer(make([]byte, 64<<10), 1<<20)
		for s.Scan() {
			p.logs.add(s.Text())
		}
		_, _ = io.Copy(io.Discard, pr) // a line past the buffer must not block the child
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		pw.Close()
		<-scanned
		close(p.done)
	}()
	t.Cleanup(p.kill)
	return p
}

// kill is kill -9: no drain, no leave, no flush. It waits until the process
// is gone. A stopped process is continued first so it can die.
func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGCONT)
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *proc) stop() error { return p.cmd.Process.Signal(syscall.SIGSTOP) }
func (p *proc) cont() error { return p.cmd.Process.Signal(syscall.SIGCONT) }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitHTTP waits until url answers 200, failing after timeout. When p is
// given and exits first, its log tail is in the failure.
func waitHTTP(t testing.TB, url string, timeout time.Duration, p *proc) {
	t.Helper()
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p != nil && p.exited() {
			t.Fatalf("%s exited before %s was ready:\n%s", p.name, url, p.logs.tail(30))
		}
		if r, err := c.Get(url); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	msg := ""
	if p != nil {
		msg = p.logs.tail(30)
	}
	t.Fatalf("%s not ready after %v\n%s", url, timeout, msg)
}
