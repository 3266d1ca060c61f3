package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:///dir
	_ "gocloud.dev/blob/s3blob"   // s3://bucket?region=...&endpoint=...

	"github.com/shortstock/shortstock/origin/store"
	"github.com/shortstock/shortstock/origin/tiering"
)

// coldFlags are the cold tier's flags (docs/tiers.md). Without
// --cold-after the tier is off and nothing changes.
type coldFlags struct {
	store    string
	after    time.Duration
	interval time.Duration
}

func (f *coldFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.store, "cold-store", "", "cold tier object store URL: file:///DIR or s3://BUCKET?region=R[&endpoint=URL&use_path_style=true] (default with --store embedded: file:///DATA-DIR/cold)")
	fs.DurationVar(&f.after, "cold-after", 0, "move links not clicked or written for this long to the cold tier (e.g. 720h; 0 = cold tier off)")
	fs.DurationVar(&f.interval, "cold-interval", 0, "time between cold tier mover passes (default cold-after/4, within 1s..10m)")
}

var coldSchemes = map[string]bool{"file": true, "s3": true}

// check validates the flags (one line, exit 2) and fills the default
// store URL.
func (f *coldFlags) check(of *originFlags) error {
	switch {
	case f.after < 0:
		return usageErr("origin", "invalid --cold-after %v: want a duration > 0 (or 0: cold tier off)", f.after)
	case f.after == 0 && f.store != "":
		return usageErr("origin", "--cold-store needs --cold-after DURATION")
	case f.after == 0 && f.interval != 0:
		return usageErr("origin", "--cold-interval needs --cold-after DURATION")
	case f.interval < 0:
		return usageErr("origin", "invalid --cold-interval %v: want a duration > 0", f.interval)
	case f.after == 0:
		return nil
	case f.after < time.Second:
		return usageErr("origin", "invalid --cold-after %v: at least 1s", f.after)
	}
	if f.store == "" {
		if of.store != "embedded" {
			return usageErr("origin", "--cold-after with --store %s needs --cold-store URL (file:///DIR or s3://BUCKET)", of.store)
		}
		dir, err := filepath.Abs(filepath.Join(of.dataDir, "cold"))
		if err != nil {
			return usageErr("origin", "invalid --data-dir %q: %v", of.dataDir, err)
		}
		f.store = "file://" + filepath.ToSlash(dir)
	}
	u, err := url.Parse(f.store)
	if err != nil || !coldSchemes[u.Scheme] {
		return usageErr("origin", "invalid --cold-store %q: want file:///DIR or s3://BUCKET?region=R", f.store)
	}
	if u.Scheme == "file" && (u.Path == "" || u.Host != "") {
		return usageErr("origin", "invalid --cold-store %q: want file:///ABSOLUTE/DIR", f.store)
	}
	if u.Scheme == "s3" && u.Host == "" {
		return usageErr("origin", "invalid --cold-store %q: want s3://BUCKET", f.store)
	}
	return nil
}

// open opens the bucket and starts the tier; close stops it and closes
// the bucket (before the store closes).
func (f *coldFlags) open(ctx context.Context, st store.Store, log *slog.Logger) (*tiering.Tiering, func(), error) {
	u, _ := url.Parse(f.store)
	if u.Scheme == "file" {
		if err := os.MkdirAll(filepath.FromSlash(u.Path), 0o700); err != nil {
			return nil, nil, fmt.Errorf("cold store %s: %w", f.store, err)
		}
	}
	b, err := blob.OpenBucket(ctx, f.store)
	if err != nil {
		return nil, nil, usageErr("origin", "invalid --cold-store %q: %v", f.store, err)
	}
	tr, err := tiering.New(tiering.Config{Store: st, Bucket: b, After: f.after, Interval: f.interval, Log: log.With("component", "coldtier")})
	if err != nil {
		b.Close()
		if errors.Is(err, tiering.ErrOtherColdStore) {
			return nil, nil, usageErr("origin", "--cold-store %s: %v", redactURL(u), err)
		}
		return nil, nil, err
	}
	log.Info("cold tier on", "cold_store", redactURL(u), "cold_after", f.after)
	return tr, func() { tr.Close(); b.Close() }, nil
}

// redactURL drops query values (an endpoint is fine, a credential is not).
func redactURL(u *url.URL) string {
	c := *u
	c.RawQuery, c.User = "", nil
	return c.String()
}
