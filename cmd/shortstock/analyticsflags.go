package main

import (
	"flag"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/shortstock/shortstock/edge"
	"github.com/shortstock/shortstock/origin"
)

// edgeAnalyticsFlags are an edge's click analytics flags (docs/analytics.md).
type edgeAnalyticsFlags struct {
	on    bool
	queue int
	geoip string
}

func (f *edgeAnalyticsFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.on, "analytics", true, "classify clicks (referrer host, device, browser, country) off the hot path; bots are counted apart (--analytics=false: counts only)")
	fs.IntVar(&f.queue, "analytics-queue", edge.DefaultConfig().AnalyticsQueue, "clicks waiting for classification; past half of it the classifier samples")
	fs.StringVar(&f.geoip, "geoip-db", "", "MaxMind-format database (GeoLite2 Country or City .mmdb) for click countries (default: countries are \"unknown\")")
}

func (f *edgeAnalyticsFlags) apply(cfg *edge.Config) error {
	if f.queue < 16 || f.queue > 1<<20 {
		return usageErr("edge", "invalid --analytics-queue %d: want 16..1048576", f.queue)
	}
	if f.geoip != "" {
		if !f.on {
			return usageErr("edge", "--geoip-db needs --analytics")
		}
		if st, err := os.Stat(f.geoip); err != nil || st.IsDir() {
			return usageErr("edge", "--geoip-db %q: not a readable file", f.geoip)
		}
	}
	cfg.Analytics, cfg.AnalyticsQueue, cfg.GeoIPDB = f.on, f.queue, f.geoip
	return nil
}

// retentionFlag is a duration that also takes whole days ("400d").
type retentionFlag struct{ d *time.Duration }

func (r retentionFlag) String() string {
	if r.d == nil {
		return ""
	}
	if *r.d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(*r.d/(24*time.Hour)), 10) + "d"
	}
	return r.d.String()
}

func (r retentionFlag) Set(v string) error {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 1 || days > 100*366 {
			return errBadRetention
		}
		*r.d = time.Duration(days) * 24 * time.Hour
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Hour {
		return errBadRetention
	}
	*r.d = d
	return nil
}

type retentionError struct{}

func (retentionError) Error() string {
	return "want whole days (400d) or a duration of at least 1h"
}

var errBadRetention = retentionError{}

// registerAnalyticsRetention adds --analytics-retention to an origin's flags.
func registerAnalyticsRetention(fs *flag.FlagSet, d *time.Duration) {
	*d = origin.DefaultConfig().AnalyticsRetention
	fs.Var(retentionFlag{d}, "analytics-retention", "how long hourly click analytics are kept (e.g. 400d, 720h)")
}
