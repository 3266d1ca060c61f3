package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/purgehook"
	"github.com/shortstock/shortstock/origin/store"
	"github.com/shortstock/shortstock/topology"
)

type originFlags struct {
	listen, region, store, dataDir string
	partitions                     int
	redis, adminKeys               listFlag
	linkTTL, stockTTL, negTTL      time.Duration
	redisOpts                      redisFlags
	gossip                         gossipFlags
	log                            logFlags
	sec                            securityFlags
	analyticsRetention             time.Duration
	ledgerRetention                time.Duration
	purgeHooks, peerOrigins        listFlag
	jobLease                       time.Duration
	noJobWorker                    bool
	pushValues                     string
	importSyncMaxLines             int
	purgeHookSecret                string
	tls                            tlsFlags
	peerCA                         string
	publicBaseURL                  string
	cold                           coldFlags
}

// securityFlags are the admin API's keys, rate limits and URL policy.
type securityFlags struct {
	keyDigests, trustedProxies, ownDomains listFlag
	keyRate, ipRate, authFailRate          float64
	keyBurst, ipBurst, authFailBurst       int
	maxTrackedIPs                          int
	blockPrivate, rejectHomographs         bool
}

func (f *securityFlags) register(fs *flag.FlagSet) {
	d := origin.DefaultConfig()
	fs.Var(&f.keyDigests, "admin-key-sha256", "accepted admin key given as HEX[:SCOPES], the SHA-256 of the key (printf %s KEY | sha256sum), so the key stays off the command line (repeatable)")
	fs.Float64Var(&f.keyRate, "key-rate", d.KeyRate, "admin requests per second per key (token bucket refill; 0 = no limit)")
	fs.IntVar(&f.keyBurst, "key-burst", d.KeyBurst, "admin request burst per key")
	fs.Float64Var(&f.ipRate, "ip-rate", d.IPRate, "admin requests per second per client IP (0 = no limit)")
	fs.IntVar(&f.ipBurst, "ip-burst", d.IPBurst, "admin request burst per client IP")
	fs.Float64Var(&f.authFailRate, "auth-fail-rate", d.AuthFailureRate, "failed admin authentications per second per client IP; past it the IP gets 429 (0 = no limit)")
	fs.IntVar(&f.authFailBurst, "auth-fail-burst", d.AuthFailureBurst, "failed admin authentication burst per client IP")
	fs.IntVar(&f.maxTrackedIPs, "max-tracked-ips", d.MaxTrackedIPs, "client IPs the rate limits remember at most")
	fs.Var(&f.trustedProxies, "trusted-proxy", "CIDR or IP of a proxy whose X-Forwarded-For gives the client IP (repeatable)")
	fs.BoolVar(&f.blockPrivate, "block-private-targets", d.BlockPrivateTargets, "refuse links to private, loopback, link-local and reserved IPs and localhost-like names (--block-private-targets=false allows them)")
	fs.BoolVar(&f.rejectHomographs, "reject-homographs", d.RejectHomographs, "refuse links whose host may impersonate another (default: accept and flag them idn_homograph)")
	fs.Var(&f.ownDomains, "own-domain", "this shortener's own domain; links to it or its subdomains are refused (repeatable)")
}

// apply checks the flags and sets them on cfg. Errors never quote a key
// or digest: usage lines end up in terminals and logs.
func (f *securityFlags) apply(cfg *origin.Config, rawKeys []string) error {
	for i, spec := range rawKeys {
		k, err := origin.ParseAdminKey(spec)
		if err != nil {
			return usageErr("origin", "--admin-key #%d: %v", i+1, err)
		}
		cfg.ScopedAdminKeys = append(cfg.ScopedAdminKeys, k)
	}
	for i, spec := range f.keyDigests {
		k, err := origin.ParseAdminKeySHA256(spec)
		if err != nil {
			return usageErr("origin", "--admin-key-sha256 #%d: %v", i+1, err)
		}
		cfg.ScopedAdminKeys = append(cfg.ScopedAdminKeys, k)
	}
	if len(cfg.ScopedAdminKeys) == 0 {
		return usageErr("origin", "no admin key: give --admin-key KEY, --admin-key-sha256 HEX or set SHORTSTOCK_ADMIN_KEY")
	}
	for _, l := range []struct {
		name  string
		rate  float64
		burst int
		dst   *float64
		dstB  *int
	}{
		{"key", f.keyRate, f.keyBurst, &cfg.KeyRate, &cfg.KeyBurst},
		{"ip", f.ipRate, f.ipBurst, &cfg.IPRate, &cfg.IPBurst},
		{"auth-fail", f.authFailRate, f.authFailBurst, &cfg.AuthFailureRate, &cfg.AuthFailureBurst},
	} {
		if math.IsNaN(l.rate) || math.IsInf(l.rate, 0) || l.rate < 0 {
			return usageErr("origin", "invalid --%s-rate %v: want a number of requests per second >= 0 (0 = no limit)", l.name, l.rate)
		}
		if l.burst < 1 {
			return usageErr("origin", "invalid --%s-burst %d: want at least 1", l.name, l.burst)
		}
		*l.dst, *l.dstB = l.rate, l.burst
		if l.rate == 0 {
			*l.dst = -1 // the Config's "off"; its zero means "default"
		}
	}
	if f.maxTrackedIPs < 1 {
		return usageErr("origin", "invalid --max-tracked-ips %d: want at least 1", f.maxTrackedIPs)
	}
	cfg.MaxTrackedIPs = f.maxTrackedIPs
	for _, s := range f.trustedProxies {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil || a.Zone() != "" {
				return usageErr("origin", "invalid --trusted-proxy %q: want a CIDR such as 10.0.0.0/8 or an IP", s)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, p.Masked())
	}
	cfg.BlockPrivateTargets, cfg.RejectHomographs = f.blockPrivate, f.rejectHomographs
	cfg.OwnDomains = f.ownDomains
	if err := (origin.URLPolicy{OwnDomains: f.ownDomains}).Validate(); err != nil {
		return usageErr("origin", "invalid --own-domain: %v", err)
	}
	return nil
}

// register defines the origin's flags; `shortstock ledger` takes the same.
func (f *originFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.listen, "listen", "127.0.0.1:9090", "HTTP listen address")
	fs.StringVar(&f.region, "region", "local", "region name, e.g. eu-west")
	fs.StringVar(&f.store, "store", "embedded", "storage backend: embedded or redis")
	fs.StringVar(&f.dataDir, "data-dir", "./data", "embedded store directory")
	fs.IntVar(&f.partitions, "partitions", keys.DefaultPartitions, "partition count of a new store (power of two, 1..16384); fixed when the store is created, a store of another count refuses to start")
	fs.Var(&f.redis, "redis", "Redis address(es): one = standalone, several = Redis Cluster seeds")
	fs.Var(&f.adminKeys, "admin-key", "accepted admin API key as KEY or KEY:SCOPES, SCOPES being links, stock, read joined by '+' (default all); at least 16 characters (repeatable; comma separated in the env variable)")
	fs.DurationVar(&f.linkTTL, "link-ttl", 5*time.Minute, "how long edges may serve a link before revalidating (invalidations normally come first)")
	fs.DurationVar(&f.stockTTL, "stock-ttl", 30*time.Second, "how long edges may serve a stock view before revalidating")
	fs.DurationVar(&f.negTTL, "negative-ttl", 5*time.Second, "how long edges may cache a 404")
	fs.Var(&f.purgeHooks, "purge-hook", "a cache in front of the edges to purge after every change: purge+http://HOST:PORT (PURGE by Surrogate-Key, e.g. Varnish with deploy/varnish) or http(s)://URL (signed JSON webhook) (repeatable)")
	fs.Var(&f.peerOrigins, "peer-origin", "another region's origin URL: change receipts (GET /v1/changes/{id}) and GET /v1/topology also list its edges (repeatable)")
	fs.StringVar(&f.purgeHookSecret, "purge-hook-secret", "", "shared secret (at least 16 bytes) signing the purges sent to --purge-hook")
	fs.DurationVar(&f.jobLease, "job-lease", 30*time.Second, "how long a bulk stock job stays with the origin running it between steps; a crashed origin's job is taken over after this (at least 1s)")
	fs.BoolVar(&f.noJobWorker, "no-job-worker", false, "accept bulk stock jobs and queued link imports but leave running them to the region's other origins")
	fs.StringVar(&f.pushValues, "push-values", "auto", "gossip each write's new answer with its invalidation, so edges holding the key need no fetch: auto (on for the embedded store, off for Redis), on, or off (also while edges older than the value codec still run)")
	fs.IntVar(&f.importSyncMaxLines, "import-sync-max-lines", 1000, "a POST /v1/links:import of at most this many links is created synchronously (200); a larger one is queued as a job (202)")
	fs.StringVar(&f.publicBaseURL, "public-base-url", "http://127.0.0.1:8080", "where the edges answer short links, e.g. https://sho.rt (QR codes encode it + /CODE)")
	f.redisOpts.register(fs.StringVar, fs.BoolVar)
	f.gossip.register(fs)
	f.log.register(fs)
	f.sec.register(fs)
	f.tls.register(fs)
	fs.StringVar(&f.peerCA, "peer-ca", "", "PEM CA file that signed the https:// --peer-origin certificates (default: the system roots)")
	registerAnalyticsRetention(fs, &f.analyticsRetention)
	registerLedgerRetention(fs, &f.ledgerRetention)
}

// checkStore validates the storage flags.
func (f *originFlags) checkStore(cmd string) error {
	switch {
	case f.store != "embedded" && f.store != "redis":
		return usageErr(cmd, "invalid --store %q (want embedded or redis)", f.store)
	case f.store == "embedded" && len(f.redis) > 0:
		return usageErr(cmd, "--redis needs --store redis")
	case f.store == "redis" && len(f.redis) == 0:
		return usageErr(cmd, "--store redis needs --redis ADDR[,ADDR]")
	}
	return f.redisOpts.durability.check(cmd)
}

func runOrigin(ctx context.Context, args []string) error {
	var f originFlags
	fs := newFlagSet("origin", "Run a regional origin: admin API, internal API for edges, storage, change-log tailer, gossip member.")
	f.register(fs)
	f.cold.register(fs)
	var cpu cpuFlag
	cpu.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := f.log.logger("origin")
	if err != nil {
		return err
	}
	if err := cpu.apply("origin"); err != nil {
		return err
	}
	cfg := origin.DefaultConfig()
	if err := f.sec.apply(&cfg, f.adminKeys); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(f.listen); err != nil {
		return usageErr("origin", "invalid --listen %q: %v", f.listen, err)
	}
	if !validRegion(f.region) {
		return usageErr("origin", "invalid --region %q: want 1-64 of [A-Za-z0-9._-]", f.region)
	}
	if err := f.checkStore("origin"); err != nil {
		return err
	}
	for _, h := range f.purgeHooks {
		if _, _, err := purgehook.ParseURL(h); err != nil {
			return usageErr("origin", "invalid --purge-hook: %v", err)
		}
	}
	if len(f.purgeHooks) > 0 && len(f.purgeHookSecret) < 16 {
		return usageErr("origin", "--purge-hook needs --purge-hook-secret of at least 16 bytes")
	}
	cfg.PurgeHooks, cfg.PurgeHookSecret = f.purgeHooks, []byte(f.purgeHookSecret)
	if err := origin.ValidatePublicBaseURL(f.publicBaseURL); err != nil {
		return usageErr("origin", "invalid --public-base-url: %v", err)
	}
	cfg.PublicBaseURL = f.publicBaseURL
	for _, p := range f.peerOrigins {
		if u, err := url.Parse(p); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageErr("origin", "invalid --peer-origin %q: want http://host:port", p)
		}
	}
	cfg.PeerOrigins = f.peerOrigins
	if f.jobLease < time.Second {
		return usageErr("origin", "invalid --job-lease %v: at least 1s", f.jobLease)
	}
	cfg.JobLease, cfg.NoJobWorker = f.jobLease, f.noJobWorker
	pv, err := origin.ParsePushValues(f.pushValues)
	if err != nil {
		return usageErr("origin", "invalid --push-values: %v", err)
	}
	cfg.PushValues = pv
	if f.importSyncMaxLines < 1 {
		return usageErr("origin", "invalid --import-sync-max-lines %d: at least 1", f.importSyncMaxLines)
	}
	cfg.ImportSyncMaxLines = f.importSyncMaxLines
	gcfg, err := f.gossip.config("origin", "origin", f.region)
	if err != nil {
		return err
	}
	listenHost, _, _ := net.SplitHostPort(f.listen)
	auth, err := f.gossip.internalAuth("origin", loopbackHost(listenHost))
	if err != nil {
		return err
	}
	serverTLS, err := f.tls.server("origin", log)
	if err != nil {
		return err
	}
	if cfg.PeerTLS, err = clientCA("origin", "peer-ca", f.peerCA); err != nil {
		return err
	}
	if err := keys.ValidPartitions(f.partitions); err != nil {
		return usageErr("origin", "invalid --partitions: %v", err)
	}
	if err := f.cold.check(&f); err != nil {
		return err
	}
	store, err := openStore(ctx, &f, log)
	if err != nil {
		return partitionsErr(err)
	}
	defer store.Close()
	if f.cold.after > 0 {
		tr, stop, err := f.cold.open(ctx, store, log)
		if err != nil {
			return err
		}
		defer stop()
		cfg.Cold = tr
	}

	cfg.Region = f.region
	cfg.Store = store
	cfg.ClusterToken, cfg.InternalInsecure = auth.send, auth.insecure
	auth.logSource(log)
	if len(auth.accept) > 1 {
		cfg.ClusterTokens = auth.accept[1:]
	}
	cfg.LinkCacheTTL, cfg.StockCacheTTL, cfg.NegativeCacheTTL = f.linkTTL, f.stockTTL, f.negTTL
	cfg.AnalyticsRetention = f.analyticsRetention
	cfg.LedgerRetention = f.ledgerRetention
	node, err := topology.StartOrigin(topology.OriginOptions{Origin: cfg, Listen: f.listen, Gossip: gcfg, TLS: serverTLS, AdminListen: f.tls.adminListen, Logger: log.With("region", f.region)})
	if err != nil {
		return err
	}
	return runUntilStopped(ctx, node, log, "draining requests, leaving gossip")
}

// validRegion matches what gossip accepts as a pool label.
func validRegion(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func openStore(ctx context.Context, f *originFlags, log *slog.Logger) (store.Store, error) {
	switch f.store {
	case "embedded":
		cfg := embedded.DefaultConfig(f.dataDir)
		cfg.Partitions = f.partitions
		s, err := embedded.Open(cfg)
		if err != nil {
			return nil, fmt.Errorf("opening embedded store in %s: %w", f.dataDir, err)
		}
		log.Info("storage ready", "store", "embedded", "data_dir", f.dataDir)
		return s, nil
	case "redis":
		return openRedis(ctx, f, log)
	}
	return nil, usageErr("origin", "invalid --store %q (want embedded or redis)", f.store)
}

func joinAddrs(a []string) string { return strings.Join(a, ",") }
