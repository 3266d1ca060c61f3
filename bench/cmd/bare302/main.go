// Command bare302 is the ceiling the edge is measured against
// (bench/edge-vs-bare.sh, bench/edge-vs-nginx.sh): a fasthttp server with
// the edge's server settings, serving on the edge's kind of listener,
// that answers every request with the same 302 and does nothing else: no
// routing, no validation, no cache, no counters.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/shortstock/shortstock/bench"
	"github.com/shortstock/shortstock/edge"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8090", "listen address")
	location := flag.String("location", bench.BareLocation, "Location of the fixed 302")
	deadlines := flag.String("deadlines", "coarse", "connection timeouts: coarse (the edge's default: its TimeoutListener), exact (fasthttp's own, a runtime timer per deadline) or none")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bare302: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}

	srv := bench.NewBareServer(*location)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bare302:", err)
		os.Exit(1)
	}
	switch *deadlines {
	case "coarse":
		if ln, err = bench.BareListener(ln); err != nil {
			fmt.Fprintln(os.Stderr, "bare302:", err)
			os.Exit(1)
		}
	case "exact":
		c := edge.DefaultConfig()
		srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout = c.ReadTimeout, c.WriteTimeout, c.IdleTimeout
	case "none":
		srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout = 0, 0, 0
	default:
		fmt.Fprintf(os.Stderr, "bare302: --deadlines %q: want coarse, exact or none\n", *deadlines)
		os.Exit(2)
	}
	fmt.Println("bare302 listening on", ln.Addr())
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		_ = srv.Shutdown()
	}()
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "bare302:", err)
		os.Exit(1)
	}
}
