package main

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/shortstock/shortstock/gossip"
	"github.com/shortstock/shortstock/internal/wire"
)

// gossipFlags are the flags origins and edges share for memberlist.
type gossipFlags struct {
	bind, key, nodeName  string
	join, clusterSecrets listFlag
	insecure             bool
	internalInsecure     bool
	clusterSecretFile    string
}

func (g *gossipFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.bind, "gossip-bind", "", "memberlist bind address and port, e.g. 127.0.0.1:7946 (default: no gossip)")
	fs.Var(&g.join, "join", "gossip peers to join, ADDR[,ADDR]")
	fs.StringVar(&g.key, "gossip-key", "", "base64 16/24/32-byte gossip encryption key; several, comma separated, for rotation (the first encrypts)")
	fs.BoolVar(&g.insecure, "gossip-insecure", false, "allow unencrypted gossip when no --gossip-key is given")
	fs.StringVar(&g.nodeName, "node-name", "", "gossip member name, unique in the region (default: ROLE-HOST-PORT)")
	fs.Var(&g.clusterSecrets, "cluster-secret", "shared secret (at least 32 bytes, e.g. openssl rand -hex 32) from which edges and origins derive the internal API token, independent of the gossip key; repeatable for a rotation: the first is sent, every one is accepted (required unless --internal-insecure)")
	fs.StringVar(&g.clusterSecretFile, "cluster-secret-file", "", "file holding the cluster secret (mode 0600), instead of --cluster-secret; default, for a node on loopback addresses alone given neither: $XDG_CONFIG_HOME/shortstock/cluster-secret (~/.config/...), created on first use")
	fs.BoolVar(&g.internalInsecure, "internal-insecure", false, "serve (origin) or call (edge) the internal API without a cluster token: for one machine whose ports nobody else reaches")
}

// keys decodes --gossip-key.
func (g *gossipFlags) keys(cmd string) ([][]byte, error) {
	var out [][]byte
	for _, k := range strings.Split(g.key, ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			return nil, usageErr(cmd, "--gossip-key is not valid base64")
		}
		if l := len(b); l != 16 && l != 24 && l != 32 {
			return nil, usageErr(cmd, "--gossip-key must decode to 16, 24 or 32 bytes, not %d", l)
		}
		out = append(out, b)
	}
	return out, nil
}

// config builds the gossip config, or nil when --gossip-bind is not given.
func (g *gossipFlags) config(cmd, role, region string) (*gossip.Config, error) {
	keys, err := g.keys(cmd)
	if err != nil {
		return nil, err
	}
	if g.bind == "" {
		if len(g.join) > 0 || len(keys) > 0 {
			return nil, usageErr(cmd, "--join and --gossip-key need --gossip-bind")
		}
		return nil, nil
	}
	host, port, err := net.SplitHostPort(g.bind)
	if err != nil {
		return nil, usageErr(cmd, "invalid --gossip-bind %q: %v", g.bind, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 || net.ParseIP(host) == nil {
		return nil, usageErr(cmd, "invalid --gossip-bind %q: want IP:PORT", g.bind)
	}
	if len(keys) == 0 && !g.insecure {
		return nil, usageErr(cmd, "--gossip-bind without --gossip-key: refusing unencrypted gossip (give a key, or --gossip-insecure)")
	}
	if len(keys) > 0 && g.insecure {
		return nil, usageErr(cmd, "--gossip-insecure contradicts --gossip-key")
	}
	name := g.nodeName
	if name == "" {
		h, _ := os.Hostname()
		name = role + "-" + h + "-" + port
	}
	c := gossip.DefaultLANConfig(name)
	c.Region = region
	c.BindAddr, c.BindPort = host, p
	c.SecretKeys = keys
	c.Insecure = g.insecure
	c.Join = g.join
	return &c, nil
}

// internalAuth is how a node authenticates on the internal API: the token
// it sends, every token it accepts (origins), or neither with
// --internal-insecure. The token is derived from --cluster-secret (or the
// secret file) only, never from the gossip key, so rotating one does not
// break the other.
type internalAuth struct {
	send     string
	accept   []string
	insecure bool
	// file: the secret came from this file (secretfile.go); created: this
	// node made it.
	file    string
	created bool
}

// internalAuth: local says whether every address involved is a loopback
// one (the origin's --listen; the edge's --origin hosts). Without
// --cluster-secret, --cluster-secret-file or --internal-insecure only such
// a node may start: it takes the per-user default secret file (created on
// first use), which every co-located node of the user shares, so the
// contract's minimal command lines (shared API.md) work with a token.
// There is no unauthenticated mode but --internal-insecure.
func (g *gossipFlags) internalAuth(cmd string, local bool) (internalAuth, error) {
	var given []string
	for i, b := range []bool{len(g.clusterSecrets) > 0, g.clusterSecretFile != "", g.internalInsecure} {
		if b {
			given = append(given, [...]string{"--cluster-secret", "--cluster-secret-file", "--internal-insecure"}[i])
		}
	}
	if n := len(given); n > 1 {
		return internalAuth{}, usageErr(cmd, "%s contradicts %s", given[n-1], strings.Join(given[:n-1], " and "))
	}
	var a internalAuth
	secrets := []string(g.clusterSecrets)
	switch {
	case g.internalInsecure:
		a.insecure = true
		return a, nil
	case g.clusterSecretFile != "":
		s, err := readSecretFile(g.clusterSecretFile)
		if err != nil {
			return internalAuth{}, usageErr(cmd, "--cluster-secret-file: %v", err)
		}
		secrets, a.file = []string{s}, g.clusterSecretFile
	case len(secrets) == 0:
		if !local {
			return internalAuth{}, usageErr(cmd, "no --cluster-secret: give one (openssl rand -hex 32; the same on every edge and origin), or --cluster-secret-file, or --internal-insecure; only a node on loopback addresses alone may go without (it uses the per-user secret file)")
		}
		path, err := defaultSecretFile()
		if err != nil {
			return internalAuth{}, usageErr(cmd, "no --cluster-secret and no user config directory for the default secret file (%v): give --cluster-secret or --cluster-secret-file", err)
		}
		s, created, err := loadOrCreateSecretFile(path)
		if err != nil {
			return internalAuth{}, usageErr(cmd, "no --cluster-secret, and the default secret file: %v; give --cluster-secret or --cluster-secret-file", err)
		}
		secrets, a.file, a.created = []string{s}, path, created
	}
	for i, s := range secrets {
		if err := checkClusterSecret(s); err != nil {
			return internalAuth{}, usageErr(cmd, "--cluster-secret #%d: %v", i+1, err)
		}
		a.accept = append(a.accept, wire.ClusterToken([]byte(s)))
	}
	a.send = a.accept[0]
	return a, nil
}

// minClusterSecret is the shortest --cluster-secret accepted: 32 bytes, as
// `openssl rand -hex 32` (64 characters) in the examples gives with room.
const minClusterSecret = 32

// checkClusterSecret refuses a short secret and the placeholder the
// example env files carry, so a copied example never runs as is.
func checkClusterSecret(s string) error {
	if strings.Contains(strings.ToUpper(s), "REPLACE_ME") {
		return errors.New("--cluster-secret is the documented placeholder REPLACE_ME: generate one with `openssl rand -hex 32`")
	}
	if len(s) < minClusterSecret {
		return fmt.Errorf("--cluster-secret must be at least %d bytes, not %d (generate one with `openssl rand -hex 32`)", minClusterSecret, len(s))
	}
	return nil
}

// loopbackHost reports whether host (an IP or a name) is a loopback
// address; "" (every interface) is not.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// logSource says where the internal API's secret came from when it was
// not given on the command line.
func (a internalAuth) logSource(log *slog.Logger) {
	switch {
	case a.created:
		log.Info("no --cluster-secret: created the cluster secret file; co-located edges and origins of this user read it too", "file", a.file)
	case a.file != "":
		log.Info("cluster secret read from its file", "file", a.file)
	}
}
