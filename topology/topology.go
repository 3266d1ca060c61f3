package topology

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/shortstock/shortstock/edge"
	"github.com/shortstock/shortstock/gossip"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/wire"
	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/store"
)

// Config describes a whole local topology: Regions regions, each an origin
// and EdgesPerRegion edges in one gossip pool, on loopback.
type Config struct {
	// Regions is how many regions to run. Default 3.
	Regions int
	// RegionNames names them; missing names come from DefaultRegionNames,
	// then "region-N".
	RegionNames []string
	// EdgesPerRegion is how many edges each region runs. Default 2.
	EdgesPerRegion int
	// Host is the loopback address every listener binds. Default 127.0.0.1.
	Host string
	// OpenStore opens the store one region's origin uses. Default: one
	// embedded store in DataDir shared by every region (one machine has one
	// copy of the data, so "replication" between regions is instant and
	// RegionLatency models its delay).
	OpenStore func(region string) (store.Store, error)
	// DataDir is the embedded store's directory. Default: a temp dir that
	// Shutdown removes.
	DataDir string
	// AdminKey is the admin API key of every origin. Default: random.
	AdminKey string
	// GossipKey encrypts every pool (each region is labelled apart).
	// Default: random 32 bytes.
	GossipKey []byte
	// ClusterSecret is what every node derives its internal API token from
	// (wire.ClusterToken), independent of GossipKey as in a deployment.
	// Default: random 32 bytes.
	ClusterSecret []byte
	// RegionLatency delays the invalidations of every region but the first
	// by this much, modelling replication to regions far from the one
	// written to. Default 0.
	RegionLatency time.Duration
	// Origin, Edge and Gossip adjust each node's config before it starts
	// (tests and the benchmark use them for short TTLs or fault injection).
	Origin func(region string, c *origin.Config)
	Edge   func(region string, i int, c *edge.Config)
	Gossip func(region, node string, c *gossip.Config)
	// Logger receives every node's logs. Default slog.Default().
	Logger *slog.Logger
}

// DefaultRegionNames are the names the demo gives its regions.
var DefaultRegionNames = []string{"us-east", "eu-west", "ap-south", "us-west", "eu-north", "sa-east"}

// Region is one running region.
type Region struct {
	Name   string
	Origin *OriginNode
	Edges  []*EdgeNode
}

// Topology is a running set of regions.
type Topology struct {
	AdminKey string
	Regions  []*Region

	stores  []store.Store
	tempDir string
	log     *slog.Logger
}

// Description is the topology as the demo's --topology-file writes it.
type Description struct {
	AdminKey string              `json:"admin_key"`
	Regions  []RegionDescription `json:"regions"`
}

// RegionDescription is one region of a Description.
type RegionDescription struct {
	Name   string   `json:"name"`
	Origin string   `json:"origin"`
	Edges  []string `json:"edges"`
	Gossip string   `json:"gossip,omitempty"`
}

// Describe returns the endpoints of t.
func (t *Topology) Describe() Description {
	d := Description{AdminKey: t.AdminKey}
	for _, r := range t.Regions {
		rd := RegionDescription{Name: r.Name, Origin: r.Origin.URL, Edges: []string{}}
		if r.Origin.Gossip != nil {
			rd.Gossip = r.Origin.Gossip.LocalAddr()
		}
		for _, e := range r.Edges {
			rd.Edges = append(rd.Edges, e.URL)
		}
		d.Regions = append(d.Regions, rd)
	}
	return d
}

func (c *Config) fill() error {
	if c.Regions == 0 {
		c.Regions = 3
	}
	if c.EdgesPerRegion == 0 {
		c.EdgesPerRegion = 2
	}
	if c.Regions < 1 || c.Regions > 16 || c.EdgesPerRegion < 1 || c.EdgesPerRegion > 64 {
		return fmt.Errorf("topology: want 1-16 regions and 1-64 edges per region, got %d and %d", c.Regions, c.EdgesPerRegion)
	}
	for len(c.RegionNames) < c.Regions {
		i := len(c.RegionNames)
		if i < len(DefaultRegionNames) {
			c.RegionNames = append(c.RegionNames, DefaultRegionNames[i])
		} else {
			c.RegionNames = append(c.RegionNames, fmt.Sprintf("region-%d", i+1))
		}
	}
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	if c.AdminKey == "" {
		c.AdminKey = "demo-" + keys.RandomCode(32)
	}
	if c.GossipKey == nil {
		c.GossipKey = make([]byte, 32)
		if _, err := rand.Read(c.GossipKey); err != nil {
			return err
		}
	}
	if c.ClusterSecret == nil {
		c.ClusterSecret = make([]byte, 32)
		if _, err := rand.Read(c.ClusterSecret); err != nil {
			return err
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Start brings up every region: origins first, then edges joining their
// region's origin. On error everything started is stopped.
func Start(cfg Config) (_ *Topology, err error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	t := &Topology{AdminKey: cfg.AdminKey, log: cfg.Logger}
	defer func() {
		if err != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = t.Shutdown(ctx)
		}
	}()
	open := cfg.OpenStore
	if open == nil {
		dir := cfg.DataDir
		if dir == "" {
			if dir, err = os.MkdirTemp("", "shortstock-demo-"); err != nil {
				return nil, err
			}
			t.tempDir = dir
		}
		st, err := embedded.Open(embedded.DefaultConfig(dir))
		if err != nil {
			return nil, fmt.Errorf("embedded store in %s: %w", dir, err)
		}
		t.stores = append(t.stores, st)
		open = func(string) (store.Store, error) { return st, nil }
	}
	token := wire.ClusterToken(cfg.ClusterSecret)
	for ri := 0; ri < cfg.Regions; ri++ {
		name := cfg.RegionNames[ri]
		log := cfg.Logger.With("region", name)
		st, err := open(name)
		if err != nil {
			return nil, fmt.Errorf("region %s: store: %w", name, err)
		}
		if cfg.OpenStore != nil {
			t.stores = append(t.stores, st)
		}
		oc := origin.DefaultConfig()
		oc.Region, oc.Store, oc.AdminKeys, oc.ClusterToken = name, st, []string{cfg.AdminKey}, token
		if cfg.Origin != nil {
			cfg.Origin(name, &oc)
		}
		// Unless the caller chose one, short URLs (QR codes, the console)
		// point at the region's first edge, once it listens.
		defaultBase := oc.PublicBaseURL == "" || oc.PublicBaseURL == origin.DefaultConfig().PublicBaseURL
		gc := cfg.gossipConfig(name, "origin-"+name, nil)
		oo := OriginOptions{Origin: oc, Listen: cfg.Host + ":0", Gossip: &gc, Logger: log.With("node", "origin")}
		if ri > 0 {
			oo.PublishDelay = cfg.RegionLatency
		}
		on, err := StartOrigin(oo)
		if err != nil {
			return nil, fmt.Errorf("region %s: origin: %w", name, err)
		}
		r := &Region{Name: name, Origin: on}
		t.Regions = append(t.Regions, r)
		for i := 0; i < cfg.EdgesPerRegion; i++ {
			ec := edge.DefaultConfig()
			ec.Region, ec.NodeName, ec.Origins, ec.ClusterToken = name, fmt.Sprintf("edge-%s-%d", name, i+1), []string{on.URL}, token
			// The edges of a topology serve its store's partitions.
			ec.Partitions = st.Partitions().N()
			if cfg.Edge != nil {
				cfg.Edge(name, i, &ec)
			}
			gc := cfg.gossipConfig(name, ec.NodeName, []string{on.Gossip.LocalAddr()})
			en, err := StartEdge(EdgeOptions{Edge: ec, Listen: cfg.Host + ":0", Gossip: &gc, Logger: log.With("node", ec.NodeName)})
			if err != nil {
				return nil, fmt.Errorf("region %s: edge %d: %w", name, i+1, err)
			}
			r.Edges = append(r.Edges, en)
		}
		if defaultBase && len(r.Edges) > 0 {
			if err := on.Server.SetPublicBaseURL(r.Edges[0].URL); err != nil {
				return nil, fmt.Errorf("region %s: public base URL: %w", name, err)
			}
		}
	}
	// Change receipts list every region's edges: each origin asks the
	// others.
	for _, r := range t.Regions {
		var peers []string
		for _, o := range t.Regions {
			if o != r {
				peers = append(peers, o.Origin.URL)
			}
		}
		r.Origin.Server.SetPeers(peers)
	}
	return t, nil
}

func (c *Config) gossipConfig(region, node string, join []string) gossip.Config {
	g := gossip.DefaultLocalConfig(node)
	g.Region = region
	g.BindAddr = c.Host
	g.SecretKeys = [][]byte{c.GossipKey}
	g.Join = join
	if c.Gossip != nil {
		c.Gossip(region, node, &g)
	}
	return g
}

// Shutdown stops edges first (drain, flush clicks, leave gossip), then
// origins, then closes the stores. It is idempotent enough: nodes already
// stopped are skipped by their own Shutdown.
func (t *Topology) Shutdown(ctx context.Context) error {
	var errs []error
	for _, r := range t.Regions {
		for _, e := range r.Edges {
			errs = append(errs, e.Shutdown(ctx))
		}
	}
	for _, r := range t.Regions {
		errs = append(errs, r.Origin.Shutdown(ctx))
	}
	for _, s := range t.stores {
		errs = append(errs, s.Close())
	}
	t.stores = nil
	if t.tempDir != "" {
		errs = append(errs, os.RemoveAll(t.tempDir))
		t.tempDir = ""
	}
	return errors.Join(errs...)
}

// GossipKeyBase64 is how the key is shown to operators.
func GossipKeyBase64(k []byte) string { return base64.StdEncoding.EncodeToString(k) }
