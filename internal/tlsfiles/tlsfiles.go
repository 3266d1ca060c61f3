// Package tlsfiles loads TLS certificates from PEM files for the servers
// (origin, edge) and clients (edge to origin, origin to Redis) of
// shortstock, and reloads a server's certificate when its files change, so
// a renewed certificate (certbot, cert-manager) is served without a
// restart.
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// ErrNoCertificates: a CA file holds no PEM certificate.
var ErrNoCertificates = errors.New("tlsfiles: no PEM certificate in the CA file")

// DefaultCheckInterval is how often, at most, a Reloader looks at its
// files: once per handshake would cost two stat calls per connection.
const DefaultCheckInterval = time.Second

// Reloader serves a certificate and key from files and reloads them when
// either file's modification time or size changes. A reload that fails
// (say, the key was written but not yet the certificate) keeps the last
// good pair and is retried at the next check.
type Reloader struct {
	certFile, keyFile string
	interval          time.Duration
	log               *slog.Logger

	mu        sync.Mutex
	cert      *tls.Certificate
	stamp     [2]fileStamp
	lastCheck time.Time
	reloads   int
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// NewReloader loads certFile and keyFile (PEM) and returns a Reloader for
// them. checkInterval 0 means DefaultCheckInterval; log nil means
// slog.Default().
func NewReloader(certFile, keyFile string, checkInterval time.Duration, log *slog.Logger) (*Reloader, error) {
	if checkInterval <= 0 {
		checkInterval = DefaultCheckInterval
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile, interval: checkInterval, log: log}
	st, err := r.stamps()
	if err != nil {
		return nil, err
	}
	if err := r.load(st); err != nil {
		return nil, err
	}
	r.lastCheck = time.Now()
	return r, nil
}

func (r *Reloader) stamps() ([2]fileStamp, error) {
	var out [2]fileStamp
	for i, f := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return out, fmt.Errorf("tlsfiles: %w", err)
		}
		out[i] = fileStamp{fi.ModTime(), fi.Size()}
	}
	return out, nil
}

func (r *Reloader) load(st [2]fileStamp) error {
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("tlsfiles: loading %s and %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert, r.stamp = &c, st
	return nil
}

// GetCertificate is tls.Config.GetCertificate: the current certificate,
// reloaded first when the files changed since the last check.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if now.Sub(r.lastCheck) >= r.interval {
		r.lastCheck = now
		st, err := r.stamps()
		switch {
		case err != nil:
			r.log.Warn("TLS certificate files unreadable; serving the last good certificate", "err", err)
		case st != r.stamp:
			if err := r.load(st); err != nil {
				r.log.Warn("TLS certificate files changed but do not load; serving the last good certificate", "err", err)
			} else {
				r.reloads++
				r.log.Info("TLS certificate reloaded", "cert", r.certFile)
			}
		}
	}
	return r.cert, nil
}

// Reloads is how many times the certificate was reloaded.
func (r *Reloader) Reloads() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reloads
}

// ServerConfig is a server tls.Config serving r's certificate, TLS 1.2 at
// least.
func (r *Reloader) ServerConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}

// ClientConfig is a client tls.Config trusting the CAs in caFile (none:
// the system roots) and presenting the certificate in certFile/keyFile
// (none: no client certificate). Both of certFile and keyFile, or neither.
func ClientConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("tlsfiles: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: %s", ErrNoCertificates, caFile)
		}
		c.RootCAs = pool
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("tlsfiles: a client certificate needs both its certificate and its key file")
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("tlsfiles: loading %s and %s: %w", certFile, keyFile, err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
