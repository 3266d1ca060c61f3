package faults

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// rawResult is what one connection got back for a rawCase.
type rawResult struct {
	statuses []int
	first    time.Duration // until the first answer's status line
	closed   bool          // the edge closed the connection after its answers
	err      error         // anything else that went wrong on our side
}

// exchange writes c.raw on a new connection to addr and reads answers
// until the edge closes the connection (closed is what was observed, not
// what a header promised) or stays silent for idle. Writing
// may fail part-way when the edge answers and closes early (a 431 while a
// huge header is still being sent): that is the edge's right.
func exchange(addr string, c rawCase, idle time.Duration) rawResult {
	var r rawResult
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		r.err = err
		return r
	}
	defer conn.Close()
	start := time.Now()
	go func() { _, _ = io.WriteString(conn, c.raw) }()
	br := bufio.NewReader(conn)
	firstWait := idle
	if c.slow {
		firstWait = 7 * time.Second // the edge's ReadTimeout is 5 s
	}
	for {
		wait := idle
		if len(r.statuses) == 0 {
			wait = firstWait
		}
		_ = conn.SetReadDeadline(time.Now().Add(wait))
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				// Still open and silent.
			case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), isReset(err):
				r.closed = true
			default:
				r.closed = true // garbage after the last answer ends the exchange as well
				if len(r.statuses) == 0 {
					r.err = err
				}
			}
			return r
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode/100 == 1 {
			continue // interim (100 Continue): the final answer follows
		}
		if len(r.statuses) == 0 {
			r.first = time.Since(start)
		}
		r.statuses = append(r.statuses, res.StatusCode)
	}
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && !oe.Timeout()
}
