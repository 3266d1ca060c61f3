// Command shortstock-probe is the container health check of the shortstock
// image. The image is distroless (no shell, curl or wget), so Docker and
// Compose health checks run this instead:
//
//	shortstock-probe http://127.0.0.1:8080/_/readyz
//
// It exits 0 when the URL answers 2xx within the timeout (default 2s, or
// -timeout), and 1 otherwise with one line on stderr. Only loopback http
// URLs are accepted: a health check looks at its own container.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("shortstock-probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 2*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: shortstock-probe [-timeout 2s] http://127.0.0.1:PORT/_/readyz")
		return 2
	}
	if err := probe(fs.Arg(0), *timeout); err != nil {
		fmt.Fprintln(stderr, "shortstock-probe:", err)
		return 1
	}
	return 0
}

func probe(raw string, timeout time.Duration) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("want an http://host:port/path URL, got %q", raw)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s is not a loopback address", u.Hostname())
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	client := &http.Client{
		// A health check never follows redirects or reuses connections.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{DisableKeepAlives: true, Proxy: nil},
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s answered %s", u, resp.Status)
	}
	return nil
}
