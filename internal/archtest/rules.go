package archtest

import (
	"fmt"
	"sort"
	"strings"
)

// Module is the module path every rule is relative to.
const Module = "github.com/shortstock/shortstock/"

// leaves are the internal packages every floor may import. They import
// nothing of ours but each other.
var leaves = []string{
	"internal/keys", "internal/change", "internal/clock", "internal/wire",
	"internal/obs", "internal/testutil", "internal/redistest", "internal/tlsfiles",
	"internal/cpuset", "internal/slicer",
}

// Rule says what the packages under Prefix may import of ours: Imports for
// package code, and TestExtra on top of it for their tests (with why).
type Rule struct {
	Prefix    string
	Imports   []string
	TestExtra []string
}

func with(a []string, b ...string) []string { return append(append([]string{}, a...), b...) }

// wiring may import every part of the product, but not the layers that
// sit above it (a benchmark is not imported by the topology it runs on).
var wiring = []string{"origin", "edge", "gossip", "internal"}

// Rules, longest prefix wins.
var Rules = []Rule{
	{Prefix: "internal", Imports: leaves},
	{Prefix: "internal/archtest", Imports: nil},
	{Prefix: "origin/store", Imports: []string{"internal/keys", "internal/change"}},
	{Prefix: "edge/cache", Imports: leaves},
	// Backends and the conformance suite see the storage contract only;
	// backend tests run the suite.
	{Prefix: "origin/embedded", Imports: with(leaves, "origin/store"), TestExtra: []string{"origin/storetest", "origin/embedded"}},
	{Prefix: "origin/redisstore", Imports: with(leaves, "origin/store"), TestExtra: []string{"origin/storetest", "origin/redisstore"}},
	{Prefix: "origin/storetest", Imports: with(leaves, "origin/store", "origin/ledger")},
	// The ledger's verify/rebuild/feed logic works on the contract only.
	{Prefix: "origin/ledger", Imports: with(leaves, "origin/store")},
	// Purge hooks send HTTP to CDNs; they know nothing of the origin.
	{Prefix: "origin/purgehook", Imports: leaves},
	{Prefix: "origin/adminsec", Imports: with(leaves, "origin/store")},
	// The console is static files and their handler.
	{Prefix: "origin/console", Imports: nil},
	// The cold tier: segments and their object store see the contract
	// only; tiering wires them to a hot store (cmd/shortstock wires
	// tiering to the origin). Their tests run real backends.
	{Prefix: "origin/coldtier", Imports: with(leaves, "origin/store")},
	{Prefix: "origin/tiering", Imports: with(leaves, "origin/store", "origin/coldtier"), TestExtra: []string{"origin", "origin/embedded", "origin/redisstore", "origin/tiering"}},
	// The admin server: its own parts and the contract. Its tests run it
	// over real backends.
	// It serves the OpenAPI document embedded by docs; its tests validate
	// every exchange against it (docs/openapitest).
	{Prefix: "origin", Imports: with(leaves, "origin/store", "origin/adminsec", "origin/ledger", "origin/purgehook", "origin/console", "docs"), TestExtra: []string{"origin", "origin/embedded", "origin/redisstore", "origin/coldtier", "origin/tiering", "docs/openapitest"}},
	// The edge talks to origins over HTTP only. Its real-origin tests
	// (realorigin_test.go) start a real origin server to talk to.
	{Prefix: "edge", Imports: with(leaves, "edge/cache"), TestExtra: []string{"origin", "origin/embedded", "origin/store", "docs/openapitest"}},
	{Prefix: "gossip", Imports: leaves},
	// The wiring layer, in its own order: topology < bench < cmd; faults
	// (end-to-end tests) sits beside cmd.
	{Prefix: "topology", Imports: wiring},
	// The console's browser tests run a whole topology; the package holds
	// nothing but them.
	{Prefix: "topology/browsertest", Imports: nil, TestExtra: with(wiring, "topology")},
	{Prefix: "bench", Imports: with(wiring, "topology")},
	// The bench's commands run its servers (bare302 is bench's ceiling).
	{Prefix: "bench/cmd", Imports: with(wiring, "topology", "bench")},
	{Prefix: "faults", Imports: with(wiring, "topology")},
	{Prefix: "cmd", Imports: with(wiring, "topology", "bench")},
	{Prefix: "deploy", Imports: nil},
	// docs embeds the OpenAPI document (a leaf the origin serves);
	// docs/openapitest validates test traffic against it.
	{Prefix: "docs", Imports: nil, TestExtra: []string{"docs/openapitest"}},
	{Prefix: "docs/openapitest", Imports: []string{"docs"}},
}

// Package is what the checker needs of a package: its path relative to
// Module and the module-internal imports of its code and of its tests.
type Package struct {
	Path        string
	Imports     []string
	TestImports []string // of _test.go files, in-package and external
	Dir         string   // where its files are
	TestFiles   []string // its _test.go files, in-package and external
}

func rule(path string) (Rule, bool) {
	best, found := Rule{}, false
	for _, r := range Rules {
		if under(path, r.Prefix) && (!found || len(r.Prefix) > len(best.Prefix)) {
			best, found = r, true
		}
	}
	return best, found
}

// Check returns one line per import no rule allows, and per package no
// rule covers.
func Check(pkgs []Package) []string {
	var bad []string
	for _, p := range pkgs {
		r, ok := rule(p.Path)
		if !ok {
			bad = append(bad, fmt.Sprintf("%s: no rule covers this package (add one to internal/archtest/rules.go)", p.Path))
			continue
		}
		for _, imp := range p.Imports {
			if !allowed(p.Path, imp, r.Imports) {
				bad = append(bad, fmt.Sprintf("%s imports %s: not allowed from its floor", p.Path, imp))
			}
		}
		for _, imp := range p.TestImports {
			if !allowed(p.Path, imp, r.Imports) && !allowed(p.Path, imp, r.TestExtra) {
				bad = append(bad, fmt.Sprintf("%s (tests) import %s: not allowed from its floor", p.Path, imp))
			}
		}
	}
	sort.Strings(bad)
	return bad
}

// allowed: what list names, and the package itself (an external test
// package imports the package it tests). Subpackages are not implied:
// origin must not import origin/embedded just because it sits below it.
func allowed(pkg, imp string, list []string) bool {
	if imp == pkg {
		return true
	}
	for _, a := range list {
		if under(imp, a) {
			return true
		}
	}
	return false
}

func under(pkg, prefix string) bool { return pkg == prefix || strings.HasPrefix(pkg, prefix+"/") }
