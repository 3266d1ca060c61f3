package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shortstock/shortstock/edge"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
	"github.com/shortstock/shortstock/topology"
)

func runDemo(ctx context.Context, args []string) error {
	var (
		regions, edges     int
		backend, dataDir   string
		redis              listFlag
		topoFile, adminKey string
		latency            time.Duration
		seed               int
		ro                 redisFlags
		lf                 logFlags
	)
	fs := newFlagSet("demo", "Run a whole local topology in one process: several regions, each an origin and edges in a gossip pool.")
	fs.IntVar(&regions, "regions", 3, "number of regions (1-16)")
	fs.IntVar(&edges, "edges", 2, "edges per region (1-64)")
	fs.StringVar(&backend, "store", "embedded", "storage backend: embedded (shared by all regions) or redis")
	fs.StringVar(&dataDir, "data-dir", "", "embedded store directory (default: a temp dir removed on exit)")
	fs.Var(&redis, "redis", "Redis address(es) for --store redis: one = standalone, several = Redis Cluster seeds")
	fs.StringVar(&topoFile, "topology-file", "", "also write the topology (regions, origin and edge URLs, admin key) as JSON to this file")
	fs.StringVar(&adminKey, "admin-key", "", "admin key of every origin (default: random, printed)")
	fs.DurationVar(&latency, "region-latency", 0, "injected replication delay before regions other than the first see a write, e.g. 40ms")
	fs.IntVar(&seed, "seed", 0, "seed this many sample links and SKUs (0 = only the demo link's SKU)")
	ro.register(fs.StringVar, fs.BoolVar)
	lf.register(fs)
	var cpu cpuFlag
	cpu.register(fs)
	fs.Lookup("log-level").DefValue, fs.Lookup("log-format").DefValue = "warn", "text"
	lf.level, lf.format = "warn", "text"
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := lf.logger("demo")
	if err != nil {
		return err
	}
	if err := cpu.apply("demo"); err != nil {
		return err
	}
	switch {
	case regions < 1 || regions > 16:
		return usageErr("demo", "--regions must be 1-16")
	case edges < 1 || edges > 64:
		return usageErr("demo", "--edges must be 1-64")
	case latency < 0 || latency > time.Minute:
		return usageErr("demo", "--region-latency must be between 0 and 1m")
	case seed < 0 || seed > 1_000_000:
		return usageErr("demo", "--seed must be 0-1000000")
	case adminKey != "" && len(adminKey) < 16:
		return usageErr("demo", "admin keys must be at least 16 characters")
	case backend != "embedded" && backend != "redis":
		return usageErr("demo", "invalid --store %q (want embedded or redis)", backend)
	case backend == "redis" && len(redis) == 0:
		return usageErr("demo", "--store redis needs --redis ADDR[,ADDR]")
	case backend == "embedded" && len(redis) > 0:
		return usageErr("demo", "--redis needs --store redis")
	}
	cfg := topology.Config{
		Regions: regions, EdgesPerRegion: edges, DataDir: dataDir, AdminKey: adminKey,
		RegionLatency: latency, Logger: log,
		// Edges classify clicks as `shortstock edge` does by default
		// (docs/analytics.md).
		Edge: func(_ string, _ int, c *edge.Config) { c.Analytics = true },
	}
	if backend == "redis" {
		cfg.OpenStore = func(region string) (store.Store, error) {
			return openRedisStore(ctx, redis, ro, keys.DefaultPartitions, log)
		}
	}
	topo, err := topology.Start(cfg)
	if err != nil {
		return err
	}
	desc := topo.Describe()
	err = seedDemo(ctx, desc, seed)
	if err == nil && topoFile != "" {
		err = writeTopology(topoFile, desc)
	}
	if err == nil {
		printDemo(os.Stdout, desc)
		<-ctx.Done()
		fmt.Fprintln(os.Stderr, "stopping: draining edges, flushing clicks, leaving gossip, closing the store")
	}
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if serr := topo.Shutdown(sctx); serr != nil {
		log.Warn("shutdown", "err", serr)
	}
	if err == nil {
		fmt.Fprintln(os.Stderr, "stopped cleanly")
	}
	return err
}

func writeTopology(path string, d topology.Description) error {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path) // readers never see half a file
}

const demoSKU = "DEMO-SKU"

// seedDemo creates the stock the printed reservation command uses, and
// optionally n sample links and SKUs, through the admin API like any client.
func seedDemo(ctx context.Context, d topology.Description, n int) error {
	o := d.Regions[0].Origin
	if err := adminCall(ctx, d.AdminKey, "PUT", o+"/v1/stock/"+demoSKU+"/main", `{"on_hand":100}`); err != nil {
		return fmt.Errorf("seeding: %w", err)
	}
	for i := 0; i < n; i++ {
		body := fmt.Sprintf(`{"url":"https://example.com/item/%d","code":"sample-%d"}`, i, i)
		if err := adminCall(ctx, d.AdminKey, "POST", o+"/v1/links", body); err != nil {
			return fmt.Errorf("seeding link %d: %w", i, err)
		}
		if i%10 == 0 {
			wh := []string{"ams", "fra", "iad"}[i%3]
			body := fmt.Sprintf(`{"on_hand":%d}`, 10+i%90)
			if err := adminCall(ctx, d.AdminKey, "PUT", fmt.Sprintf("%s/v1/stock/SAMPLE-%d/%s", o, i/10, wh), body); err != nil {
				return fmt.Errorf("seeding stock: %w", err)
			}
		}
	}
	return nil
}

func adminCall(ctx context.Context, key, method, url, body string) error {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode >= 300 && res.StatusCode != http.StatusConflict {
		return fmt.Errorf("%s %s: %d %s", method, url, res.StatusCode, bytes.TrimSpace(b))
	}
	return nil
}

func printDemo(w io.Writer, d topology.Description) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tORIGIN (admin API)\tEDGES (public API)")
	for _, r := range d.Regions {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, r.Origin, strings.Join(r.Edges, " "))
	}
	tw.Flush()
	o, e := d.Regions[0].Origin, d.Regions[len(d.Regions)-1].Edges[0]
	code := "hello-" + strings.ToLower(keys.RandomCode(4))
	fmt.Fprintf(w, "\nadmin key: %s\n", d.AdminKey)
	fmt.Fprintf(w, "admin console: %s/console/  (sign in with the admin key; every origin serves it)\n\nTry it (Ctrl-C stops the demo):\n\n", o)
	fmt.Fprintf(w, "  # 1. create a link at the %s origin\n  curl -s -H 'Authorization: Bearer %s' %s/v1/links -d '{\"url\":\"https://example.com/\",\"code\":\"%s\"}'\n\n", d.Regions[0].Name, d.AdminKey, o, code)
	fmt.Fprintf(w, "  # 2. follow it through an edge in %s\n  curl -si %s/%s\n\n", d.Regions[len(d.Regions)-1].Name, e, code)
	fmt.Fprintf(w, "  # 3. reserve stock\n  curl -s -H 'Authorization: Bearer %s' %s/v1/reservations -d '{\"sku\":\"%s\",\"qty\":2}'\n\n", d.AdminKey, o, demoSKU)
}
