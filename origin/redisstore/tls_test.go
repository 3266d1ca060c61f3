package redisstore_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/redistest"
	"github.com/shortstock/shortstock/internal/testutil"
	"github.com/shortstock/shortstock/internal/tlsfiles"
	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

// A real redis-server listening on TLS only (Debian's is built with TLS),
// requiring client certificates: the store connects with Config.TLS (CA and
// client certificate), and is refused without the client certificate or
// without TLS.
func TestTLSConnection(t *testing.T) {
	bins, err := redistest.FindBinaries()
	if err != nil {
		if redistest.InCI() {
			t.Fatalf("redis-server is required in CI: %v", err)
		}
		t.Skip(err)
	}
	dir := t.TempDir()
	files, _ := testutil.NewCA(t).WriteFiles(t, dir)
	addr := testutil.FreeAddr(t)
	port := addr[strings.LastIndex(addr, ":")+1:]
	cmd := exec.Command(bins.Server, "--port", "0", "--tls-port", port, "--bind", "127.0.0.1",
		"--tls-cert-file", files.Cert, "--tls-key-file", files.Key, "--tls-ca-cert-file", files.CA,
		"--tls-auth-clients", "yes", "--save", "", "--appendonly", "no", "--dir", dir)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	withCert, err := tlsfiles.ClientConfig(files.CA, files.Cert, files.Key)
	if err != nil {
		t.Fatal(err)
	}
	open := func(tc *tls.Config) (*redisstore.Store, error) {
		cfg := redisstore.DefaultConfig([]string{addr})
		cfg.KeyPrefix = fmt.Sprintf("tls%d", time.Now().UnixNano()%1e9)
		cfg.ReadTimeout = 5 * time.Second
		cfg.TLS = tc
		// This server is a throwaway without AOF: what is tested is the
		// TLS connection, not the durability check (durability_test.go).
		cfg.UnsafeConfig = redisstore.UnsafeWarn
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return redisstore.New(ctx, cfg)
	}
	var st *redisstore.Store
	deadline := time.Now().Add(20 * time.Second)
	for {
		if st, err = open(withCert); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no TLS connection to redis-server: %v\n%s", err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	defer st.Close()
	ctx := context.Background()
	if _, err := st.SetStock(ctx, "TLS-1", "w", 7); err != nil {
		t.Fatalf("a write over TLS: %v", err)
	}
	if v, err := st.GetStock(ctx, "TLS-1"); err != nil || v.Version != 1 {
		t.Fatalf("a read over TLS: %+v %v", v, err)
	}

	noCert, _ := tlsfiles.ClientConfig(files.CA, "", "")
	for name, tc := range map[string]*tls.Config{"no client certificate": noCert, "plain TCP": nil} {
		if s, err := open(tc); err == nil {
			s.Close()
			t.Errorf("%s: connected", name)
		} else if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s: %v, want ErrUnavailable", name, err)
		}
	}
	other, _ := testutil.NewCA(t).WriteFiles(t, t.TempDir())
	untrusting, _ := tlsfiles.ClientConfig(other.CA, files.Cert, files.Key)
	if s, err := open(untrusting); err == nil {
		s.Close()
		t.Error("a client that does not trust the server's CA connected")
	}
}
