// Command edgebench runs the two halves of bench/edge-vs-bare.sh as
// separate processes, so each can be pinned to its own core:
//
//	edgebench origin --listen ADDR --links N --dir DIR
//	    a real origin (package origin over the embedded store) holding N
//	    links b000000..b(N-1), created straight through the Store
//	edgebench edge --listen ADDR --origin URL --warm N
//	    a real edge (package edge) that first loads those N links into
//	    its cache, then serves
//
// Each prints "ready" on stdout once it can be measured, and stops on
// SIGINT/SIGTERM. It is a bench tool, not the product's wiring
// (cmd/shortstock owns that).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // for --pprof
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shortstock/shortstock/edge"
	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/store"
	"github.com/valyala/fasthttp"
)

// Code returns the bench's i-th link code; the wrk script makes the same.
func code(i int) string { return fmt.Sprintf("b%06d", i) }

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: edgebench origin|edge [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "origin":
		err = runOrigin(os.Args[2:])
	case "edge":
		err = runEdge(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "usage: edgebench origin|edge [flags]")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "edgebench:", err)
		os.Exit(1)
	}
}

func signalled() <-chan os.Signal {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
	return c
}

func runOrigin(args []string) error {
	fs := flag.NewFlagSet("origin", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:9190", "listen address")
	links := fs.Int("links", 100000, "links to create")
	dir := fs.String("dir", "", "embedded store directory (required)")
	_ = fs.Parse(args)
	if *dir == "" {
		return fmt.Errorf("--dir is required")
	}
	scfg := embedded.DefaultConfig(*dir)
	scfg.NoSync = true // bench data, created fast
	st, err := embedded.Open(scfg)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= *links {
					return
				}
				_, err := st.CreateLink(context.Background(), store.NewLink{Code: code(i), URL: "https://example.com/landing?utm=bench&i=" + code(i), Redirect: 302, CreatedAt: time.Now()})
				if err != nil && err != store.ErrCodeTaken {
					errOnce.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	fmt.Fprintf(os.Stderr, "origin: %d links in %v\n", *links, time.Since(start).Round(time.Millisecond))
	cfg := origin.DefaultConfig()
	cfg.Store = st
	cfg.AdminKeys = []string{"edgebench-admin-key-0123456789"}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.LinkCacheTTL = time.Hour // no refreshes during a run
	// A loopback-only benchmark tool: its edges call without a token.
	cfg.InternalInsecure = true
	srv, err := origin.New(cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln) //nolint:errcheck // ErrServerClosed at exit
	fmt.Println("ready")
	<-signalled()
	return hs.Close()
}

func runEdge(args []string) error {
	fs := flag.NewFlagSet("edge", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:8190", "listen address")
	originURL := fs.String("origin", "http://127.0.0.1:9190", "origin base URL")
	warm := fs.Int("warm", 100000, "links to load into the cache before serving")
	cacheBytes := fs.Int64("cache-bytes", 0, "edge cache budget in bytes (0: the edge's default)")
	memReport := fs.Bool("memory", false, "set the memory limit from the cache budget as shortstock edge does, and report memory and GC after warming and at exit")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this address (profiling the edge under load)")
	readYield := fs.Bool("read-yield", false, "yield between a response and the next read while the network is polled (edge.Config.ReadYield)")
	deadlineRes := fs.Duration("deadline-resolution", 0, "how often connection timeouts are checked (edge.Config.DeadlineResolution; 0: the edge's default, negative: a runtime timer per deadline, as fasthttp sets them)")
	_ = fs.Parse(args)
	if *pprofAddr != "" {
		go http.ListenAndServe(*pprofAddr, nil) //nolint:errcheck // a bench aid
	}
	cfg := edge.DefaultConfig()
	cfg.Origins = []string{*originURL}
	cfg.NodeName = "edgebench"
	cfg.ReadYield = *readYield
	cfg.DeadlineResolution = *deadlineRes
	if *cacheBytes > 0 {
		cfg.CacheBytes = *cacheBytes
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if *memReport && os.Getenv("GOMEMLIMIT") == "" {
		budget := cfg.CacheBytes
		if budget == 0 {
			budget = edge.DefaultConfig().CacheBytes
		}
		debug.SetMemoryLimit(edge.MemoryLimit(budget))
	}
	s, err := edge.New(cfg)
	if err != nil {
		return err
	}
	// Warm through the real handler, as requests would, from a few
	// goroutines: the origin answers misses one by one.
	start := time.Now()
	h := s.Handler()
	var next atomic.Int64
	var wg sync.WaitGroup
	var bad atomic.Int64
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ctx fasthttp.RequestCtx
			for {
				i := int(next.Add(1)) - 1
				if i >= *warm {
					return
				}
				// A miss the origin refuses (its internal rate limit,
				// 20000/s, is below what 16 warmers ask) is retried.
				for try := 0; ; try++ {
					ctx.Request.Reset()
					ctx.Response.Reset()
					ctx.Request.Header.SetMethod("HEAD") // HEAD: warming is not clicking
					ctx.Request.SetRequestURI("/" + code(i))
					h(&ctx)
					if ctx.Response.StatusCode() == 302 {
						break
					}
					if try == 20 {
						bad.Add(1)
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	// A second pass shows how many stayed cached (ristretto may refuse some).
	hits := 0
	var ctx fasthttp.RequestCtx
	for i := range *warm {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod("HEAD")
		ctx.Request.SetRequestURI("/" + code(i))
		h(&ctx)
		if string(ctx.Response.Header.Peek("X-Cache")) == "HIT" {
			hits++
		}
	}
	fmt.Fprintf(os.Stderr, "edge: warmed %d links in %v (%d not 302), %d cached\n", *warm, time.Since(start).Round(time.Millisecond), bad.Load(), hits)
	var atWarm memReading
	if *memReport {
		atWarm = readMemory()
		fmt.Fprintf(os.Stderr, "edge: memory after warming: %s\n", atWarm)
		defer func() {
			atExit := readMemory()
			fmt.Fprintf(os.Stderr, "edge: memory at exit: %s\n", atExit)
		}()
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	fmt.Println("ready")
	select {
	case <-signalled():
	case err := <-done:
		return err
	}
	if *memReport {
		// Before Shutdown: its last click flush drains every count the
		// starved origin did not take into one batch, which is not
		// serving.
		atStop := readMemory()
		fmt.Fprintf(os.Stderr, "edge: memory when stopped: %s; serving: %s\n", atStop, atStop.since(atWarm))
	}
	ctx2, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Shutdown(ctx2)
}
