package tlsfiles_test

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/testutil"
	"github.com/shortstock/shortstock/internal/tlsfiles"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve accepts TLS connections with cfg until the listener closes.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// servedSerial handshakes with addr trusting only caFile's CA and returns
// the serial of the certificate the server showed.
func servedSerial(t *testing.T, addr, caFile string) int64 {
	t.Helper()
	cfg, err := tlsfiles.ClientConfig(caFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// A renewed certificate written over the files is served from the next
// check on, without a restart; a pair that does not load (half written)
// keeps the last good one.
func TestReloadsWhenFilesChange(t *testing.T) {
	ca := testutil.NewCA(t)
	dir := t.TempDir()
	files, first := ca.WriteFiles(t, dir)
	r, err := tlsfiles.NewReloader(files.Cert, files.Key, 10*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, r.ServerConfig())
	if got := servedSerial(t, addr, files.CA); got != first {
		t.Fatalf("serial %d, want %d", got, first)
	}
	_, second := ca.WriteFiles(t, dir)
	future := time.Now().Add(time.Minute) // an mtime that surely differs on coarse clocks
	os.Chtimes(files.Cert, future, future)
	os.Chtimes(files.Key, future, future)
	waitSerial(t, addr, files.CA, second)

	// Half written: a key that does not match the certificate.
	_, k, _ := ca.Issue(t)
	if err := os.WriteFile(files.Key, k, 0o600); err != nil {
		t.Fatal(err)
	}
	later := future.Add(time.Minute)
	os.Chtimes(files.Key, later, later)
	time.Sleep(30 * time.Millisecond) // past the check interval: the bad pair is looked at
	if got := servedSerial(t, addr, files.CA); got != second {
		t.Fatalf("a pair that does not load replaced the good one: serial %d", got)
	}
	if r.Reloads() != 1 {
		t.Fatalf("reloads %d, want 1", r.Reloads())
	}
}

func waitSerial(t *testing.T, addr, ca string, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := servedSerial(t, addr, ca)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still serving serial %d, want %d", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	ca := testutil.NewCA(t)
	files, _ := ca.WriteFiles(t, dir)
	if _, err := tlsfiles.NewReloader(filepath.Join(dir, "none.pem"), files.Key, 0, nil); err == nil {
		t.Fatal("a missing certificate file was accepted")
	}
	if _, err := tlsfiles.NewReloader(files.CA, files.Key, 0, nil); err == nil {
		t.Fatal("a certificate that does not match its key was accepted")
	}
	if _, err := tlsfiles.ClientConfig(files.Key, "", ""); !errors.Is(err, tlsfiles.ErrNoCertificates) {
		t.Fatalf("a CA file without certificates: %v", err)
	}
	if _, err := tlsfiles.ClientConfig("", files.Cert, ""); err == nil {
		t.Fatal("a client certificate without its key was accepted")
	}
	c, err := tlsfiles.ClientConfig(files.CA, files.Cert, files.Key)
	if err != nil || c.RootCAs == nil || len(c.Certificates) != 1 || c.MinVersion != tls.VersionTLS12 {
		t.Fatalf("client config %v, %v", c, err)
	}
	// An untrusting client refuses the server.
	r, err := tlsfiles.NewReloader(files.Cert, files.Key, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, r.ServerConfig())
	other, _ := testutil.NewCA(t).WriteFiles(t, t.TempDir())
	cfg, _ := tlsfiles.ClientConfig(other.CA, "", "")
	if c, err := tls.Dial("tcp", addr, cfg); err == nil {
		c.Close()
		t.Fatal("a certificate from another CA was trusted")
	}
}
