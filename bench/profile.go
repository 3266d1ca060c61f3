package bench

import (
	"fmt"
	"slices"
	"strings"
)

// Profile is one row of the design's scale table, scaled to one machine:
// the same shape of load (Zipf reads of redirects and stock at edges, a
// write stream at origins), with rates, key counts and topology size
// scaled.
type Profile struct {
	Name string `json:"name"`
	// Scale is the scale table's row, for the report.
	Scale string `json:"scale"`
	// Regions and EdgesPerRegion size the embedded topology.
	Regions        int `json:"regions"`
	EdgesPerRegion int `json:"edges_per_region"`
	// Links and SKUs are the key set seeded through the admin API.
	Links int `json:"links"`
	SKUs  int `json:"skus"`
	// ReadRate is the offered read rate at edges; 0 means "the highest
	// this machine sustains", found by a short ramp over RampRates.
	ReadRate  float64   `json:"read_rate"`
	RampRates []float64 `json:"ramp_rates,omitempty"`
	// WriteRate is the offered write rate at origins.
	WriteRate float64 `json:"write_rate"`
	// StockShare is the share of reads that are stock reads.
	StockShare float64 `json:"stock_share"`
	// ReadWorkers and WriteWorkers bound the requests in flight.
	ReadWorkers  int `json:"read_workers"`
	WriteWorkers int `json:"write_workers"`
	// Pipeline is the reads in flight per connection to an edge: 1 (or
	// 0) sends one request a connection at a time, as a browser does;
	// more pipelines them, which is how the large profile offers what
	// one core of edge can take without the generator being the limit.
	Pipeline int `json:"pipeline,omitempty"`
	// ProbeSlots bounds the invalidation probes running at once.
	ProbeSlots int `json:"probe_slots"`
	// CompareRate is compare mode's default rate: the scale table's top
	// for large, so both servers are pushed past what they sustain and the
	// achieved rates compare capacity.
	CompareRate float64 `json:"compare_rate"`
}

// Profiles are the named profiles. Key counts are scaled down from the
// table (10 K, 1 M, 100 M) so that seeding through the admin API takes
// seconds, not hours; rates follow the table up to what two cores carry.
var Profiles = []Profile{
	{
		Name: "small", Scale: "100 users, 10 K links/items, 10 req/s; one origin, one edge",
		Regions: 1, EdgesPerRegion: 1, Links: 10_000, SKUs: 1_000,
		ReadRate: 10, WriteRate: 2, StockShare: 0.2,
		ReadWorkers: 8, WriteWorkers: 4, ProbeSlots: 2, CompareRate: 10,
	},
	{
		Name: "medium", Scale: "10 K users, 1 M links/items (scaled to 100 K), 1 K req/s; 2 regions x 2 edges",
		Regions: 2, EdgesPerRegion: 2, Links: 100_000, SKUs: 10_000,
		ReadRate: 1000, WriteRate: 20, StockShare: 0.2,
		ReadWorkers: 32, WriteWorkers: 8, ProbeSlots: 4, CompareRate: 1000,
	},
	{
		Name: "large", Scale: "1 M users, 100 M links/items (scaled to 200 K), 50-100 K req/s (as much as this machine sustains); 3 regions x 2 edges",
		Regions: 3, EdgesPerRegion: 2, Links: 200_000, SKUs: 20_000,
		ReadRate:  0,
		RampRates: []float64{1_000, 2_000, 3_000, 5_000, 7_500, 10_000, 12_500, 15_000, 20_000, 25_000, 30_000, 40_000, 50_000, 75_000, 100_000},
		WriteRate: 200, StockShare: 0.2,
		ReadWorkers: 256, WriteWorkers: 16, ProbeSlots: 3, CompareRate: 100_000,
		Pipeline: 16,
	},
}

// ProfileNames lists the profiles' names.
func ProfileNames() []string {
	var n []string
	for _, p := range Profiles {
		n = append(n, p.Name)
	}
	return n
}

// LookupProfile returns the named profile.
func LookupProfile(name string) (Profile, error) {
	i := slices.IndexFunc(Profiles, func(p Profile) bool { return p.Name == name })
	if i < 0 {
		return Profile{}, fmt.Errorf("%w: unknown profile %q (want %s)", ErrConfig, name, strings.Join(ProfileNames(), ", "))
	}
	p := Profiles[i]
	p.RampRates = slices.Clone(p.RampRates)
	return p, nil
}
