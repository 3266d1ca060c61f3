// Command bare302 is the ceiling the edge is measured against
// (bench/edge-vs-bare.sh): a fasthttp server with the edge's server
// settings that answers every request with the same 302 and does nothing
// else: no routing, no validation, no cache, no counters.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/shortstock/shortstock/bench"
)

func main() {
	def := bench.NewBareServer(bench.BareLocation)
	listen := flag.String("listen", "127.0.0.1:8090", "listen address")
	location := flag.String("location", bench.BareLocation, "Location of the fixed 302")
	readTimeout := flag.Duration("read-timeout", def.ReadTimeout, "fasthttp ReadTimeout (0: no per-request read deadline)")
	writeTimeout := flag.Duration("write-timeout", def.WriteTimeout, "fasthttp WriteTimeout (0: no per-request write deadline)")
	flag.Parse()

	// The same server bench runs as its ceiling (edge settings), with the
	// per-request deadlines as flagged.
	srv := bench.NewBareServer(*location)
	srv.ReadTimeout, srv.WriteTimeout = *readTimeout, *writeTimeout
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bare302:", err)
		os.Exit(1)
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
