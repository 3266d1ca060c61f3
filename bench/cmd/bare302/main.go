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
	"time"

	"github.com/valyala/fasthttp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8090", "listen address")
	location := flag.String("location", "https://example.com/landing?utm=bench", "Location of the fixed 302")
	readTimeout := flag.Duration("read-timeout", 5*time.Second, "fasthttp ReadTimeout (0: no per-request read deadline)")
	writeTimeout := flag.Duration("write-timeout", 5*time.Second, "fasthttp WriteTimeout (0: no per-request write deadline)")
	flag.Parse()

	loc := []byte(*location)
	headerLocation := []byte("Location")
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.Response.SetStatusCode(fasthttp.StatusFound)
			ctx.Response.Header.SetCanonical(headerLocation, loc)
		},
		Name:                 "shortstock",
		ReadTimeout:          *readTimeout,
		WriteTimeout:         *writeTimeout,
		IdleTimeout:          60 * time.Second,
		MaxRequestBodySize:   4 << 10,
		ReadBufferSize:       4 << 10,
		NoDefaultContentType: true,
	}
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
