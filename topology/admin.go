package topology

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shortstock/shortstock/internal/obs"
)

// adminServer serves a node's metrics and pprof on an address of their
// own (--admin-listen), so they can stay off a public port: profiles and
// metrics tell an attacker much, and a CPU profile costs CPU.
type adminServer struct {
	http   *http.Server
	URL    string
	served chan error
}

// startAdmin listens on addr and serves /_/metrics (g), /_/healthz and
// /debug/pprof/ there.
func startAdmin(addr string, g prometheus.Gatherer, log *slog.Logger) (*adminServer, error) {
	ln, err := listener(nil, addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /_/metrics", obs.Handler(g))
	mux.HandleFunc("GET /_/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := newHTTPServer(mux, log)
	srv.WriteTimeout = 0 // a CPU profile or trace streams for its seconds
	a := &adminServer{http: srv, URL: "http://" + ln.Addr().String(), served: make(chan error, 1)}
	go func() { a.served <- srv.Serve(ln) }()
	log.Info("admin listener (metrics, pprof)", "url", a.URL)
	return a, nil
}

// close stops the admin server at once: nothing on it needs draining.
func (a *adminServer) close() error {
	if a == nil {
		return nil
	}
	err := a.http.Close()
	<-a.served
	return err
}

// tlsListener wraps ln in TLS when cfg is set, and says which scheme the
// node's URL takes.
func tlsListener(ln net.Listener, cfg *tls.Config) (net.Listener, string) {
	if cfg == nil {
		return ln, "http://"
	}
	return tls.NewListener(ln, cfg), "https://"
}
