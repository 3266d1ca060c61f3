package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress is the one status line a run keeps on stderr. On a terminal it
// is rewritten in place; elsewhere (a log file, CI) a status is printed
// at most every notTTYEvery so logs stay short. A nil *progress prints
// nothing.
type progress struct {
	w       io.Writer
	tty     bool
	mu      sync.Mutex
	open    bool // a status line is on screen and needs a newline
	last    time.Time
	pending string // not on a terminal: the latest status not printed yet
}

const notTTYEvery = 5 * time.Second

func newProgress(w io.Writer) *progress {
	if w == nil {
		return nil
	}
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progress{w: w, tty: tty}
}

// status shows a transient status.
func (p *progress) status(format string, a ...any) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := fmt.Sprintf(format, a...)
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", s)
		p.open = true
		return
	}
	p.pending = s
	if time.Since(p.last) >= notTTYEvery {
		fmt.Fprintln(p.w, s)
		p.last, p.pending = time.Now(), ""
	}
}

// line prints a line that stays.
func (p *progress) line(format string, a ...any) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endLocked()
	fmt.Fprintln(p.w, strings.TrimRight(fmt.Sprintf(format, a...), "\n"))
}

// done ends a status line: on a terminal it stays on screen; elsewhere
// the last status is printed if it was not yet, so a log shows how each
// step ended.
func (p *progress) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endLocked()
	p.last = time.Time{}
}

func (p *progress) endLocked() {
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
	if p.pending != "" {
		fmt.Fprintln(p.w, p.pending)
		p.pending = ""
	}
}
