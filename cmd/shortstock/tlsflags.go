package main

import (
	"crypto/tls"
	"flag"
	"log/slog"
	"net"
	"strings"

	"github.com/shortstock/shortstock/internal/tlsfiles"
	"github.com/shortstock/shortstock/origin/redisstore"
)

// tlsFlags are the TLS and admin-listener flags origins and edges share.
type tlsFlags struct {
	cert, key, adminListen string
}

func (f *tlsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.cert, "tls-cert", "", "PEM certificate (chain) to serve HTTPS with, reloaded when the file changes (with --tls-key; default: plain HTTP)")
	fs.StringVar(&f.key, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&f.adminListen, "admin-listen", "", "address serving /_/metrics and /debug/pprof/ apart from the main port, e.g. 127.0.0.1:9100 (an edge then answers /_/metrics on its public port with 404; default: none)")
}

// server returns the server TLS config, nil for plain HTTP.
func (f *tlsFlags) server(cmd string, log *slog.Logger) (*tls.Config, error) {
	if f.adminListen != "" {
		if _, _, err := net.SplitHostPort(f.adminListen); err != nil {
			return nil, usageErr(cmd, "invalid --admin-listen %q: %v", f.adminListen, err)
		}
	}
	if f.cert == "" && f.key == "" {
		return nil, nil
	}
	if f.cert == "" || f.key == "" {
		return nil, usageErr(cmd, "--tls-cert and --tls-key go together")
	}
	r, err := tlsfiles.NewReloader(f.cert, f.key, 0, log)
	if err != nil {
		return nil, usageErr(cmd, "--tls-cert/--tls-key: %v", err)
	}
	return r.ServerConfig(), nil
}

// clientCA returns a client TLS config trusting the CA file flag names,
// nil when file is empty (the system roots).
func clientCA(cmd, flagName, file string) (*tls.Config, error) {
	if file == "" {
		return nil, nil
	}
	c, err := tlsfiles.ClientConfig(file, "", "")
	if err != nil {
		return nil, usageErr(cmd, "--%s: %v", flagName, err)
	}
	return c, nil
}

// redisTLSFlags: TLS to Redis, on when the addresses say rediss://.
type redisTLSFlags struct {
	ca, cert, key string
}

func (r *redisTLSFlags) register(fsVar func(p *string, name, value, usage string)) {
	fsVar(&r.ca, "redis-ca", "", "PEM CA file that signed Redis's certificate (with rediss:// addresses; default: the system roots)")
	fsVar(&r.cert, "redis-cert", "", "PEM client certificate for Redis's tls-auth-clients (with --redis-key and rediss:// addresses)")
	fsVar(&r.key, "redis-key", "", "PEM private key of --redis-cert")
}

// apply strips redis:// and rediss:// from cfg's addresses and, for
// rediss://, sets cfg.TLS. Every address must take the same scheme.
func (r *redisTLSFlags) apply(cmd string, cfg *redisstore.Config) error {
	secure := -1
	strip := func(a string) (string, error) {
		s := 0
		switch {
		case strings.HasPrefix(a, "rediss://"):
			a, s = strings.TrimPrefix(a, "rediss://"), 1
		default:
			a = strings.TrimPrefix(a, "redis://")
		}
		if secure >= 0 && s != secure {
			return "", usageErr(cmd, "--redis and --redis-replica addresses mix rediss:// and plain ones")
		}
		secure = s
		return strings.TrimSuffix(a, "/"), nil
	}
	for i, a := range cfg.Addrs {
		var err error
		if cfg.Addrs[i], err = strip(a); err != nil {
			return err
		}
	}
	if cfg.ReplicaAddr != "" {
		var err error
		if cfg.ReplicaAddr, err = strip(cfg.ReplicaAddr); err != nil {
			return err
		}
	}
	if secure != 1 {
		if r.ca != "" || r.cert != "" || r.key != "" {
			return usageErr(cmd, "--redis-ca, --redis-cert and --redis-key need rediss:// addresses")
		}
		return nil
	}
	c, err := tlsfiles.ClientConfig(r.ca, r.cert, r.key)
	if err != nil {
		return usageErr(cmd, "Redis TLS: %v", err)
	}
	cfg.TLS = c
	return nil
}
