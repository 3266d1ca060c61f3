package bench

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// idleConnDuration closes a client connection idle this long.
const idleConnDuration = 5 * time.Second

// host is one target: a fasthttp client for one base URL with a bounded
// pool of keep-alive connections, and the Host header to send.
type host struct {
	base string // http://127.0.0.1:8080
	addr string // 127.0.0.1:8080
	hc   *fasthttp.HostClient
	// pc, when set, sends instead of hc: requests pipelined over a
	// fixed set of connections (Config.Pipeline).
	pc *pipeClient
}

// newHost returns a host for base ("http://127.0.0.1:8080") keeping at
// most maxConns connections. Each worker has one request in flight, so a
// pool as large as the workers never makes a worker wait for a connection.
func newHost(base string, maxConns int) (*host, error) {
	u, addr, err := parseBase(base)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return &host{
		base: u.Scheme + "://" + u.Host,
		addr: addr,
		hc: &fasthttp.HostClient{
			Addr:                      addr,
			IsTLS:                     u.Scheme == "https",
			MaxConns:                  max(1, maxConns),
			MaxIdemponentCallAttempts: 1, // a retried request would hide a failure and skew its latency
			// Short, so fasthttp's per-client cleaner goroutine (which
			// sleeps this long between looks) ends soon after a run.
			MaxIdleConnDuration:      idleConnDuration,
			ReadBufferSize:           16 << 10,
			NoDefaultUserAgentHeader: true,
			DisablePathNormalizing:   true,
		},
	}, nil
}

// parseBase checks a base URL like http://127.0.0.1:8080 and returns it
// with the address to dial.
func parseBase(base string) (u *url.URL, addr string, err error) {
	u, err = url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, "", fmt.Errorf("%q is not a base URL like http://127.0.0.1:8080", base)
	}
	addr = u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	return u, addr, nil
}

// newPipelinedHost returns a host whose requests are pipelined over conns
// connections.
func newPipelinedHost(base string, conns int) (*host, error) {
	h, err := newHost(base, 1)
	if err != nil {
		return nil, err
	}
	h.pc = newPipeClient(h.addr, conns)
	return h, nil
}

// newReadHosts returns the edges' hosts for workers readers: pipelined
// depth requests a connection when depth > 1, else one request a
// connection.
func newReadHosts(bases []string, workers, depth int) ([]*host, error) {
	if depth <= 1 {
		return newHosts(bases, workers)
	}
	hs := make([]*host, 0, len(bases))
	for _, b := range bases {
		h, err := newPipelinedHost(b, (workers+depth-1)/depth)
		if err != nil {
			return nil, err
		}
		hs = append(hs, h)
	}
	return hs, nil
}

func newHosts(bases []string, maxConns int) ([]*host, error) {
	hs := make([]*host, 0, len(bases))
	for _, b := range bases {
		h, err := newHost(b, maxConns)
		if err != nil {
			return nil, err
		}
		hs = append(hs, h)
	}
	return hs, nil
}

// closeHosts closes the idle connections of hosts, and with them the
// goroutines fasthttp keeps for them.
func closeHosts(hs ...[]*host) {
	for _, l := range hs {
		for _, h := range l {
			h.hc.CloseIdleConnections()
			if h.pc != nil {
				h.pc.close()
			}
		}
	}
}

// do sends req (whose URI is a path) to h and waits until deadline.
func (h *host) do(req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time) error {
	req.Header.SetHost(h.addr)
	if h.pc != nil {
		return h.pc.do(req, resp, deadline)
	}
	return h.hc.DoDeadline(req, resp, deadline)
}

// transportKind names a failure to get an answer, prefixed with what was
// being done: "read_timeout", "patch_refused".
func transportKind(op string, err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return op + "_timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return op + "_refused"
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return op + "_no_free_conns"
	case errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, errPipeBroken), errors.Is(err, errPipeServerClosed):
		return op + "_conn_closed"
	}
	return op + "_transport"
}

// statusKind names an unexpected answer: "read_status_503".
func statusKind(op string, status int) string { return op + "_status_" + strconv.Itoa(status) }

// earlier returns the earlier of two times.
func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
