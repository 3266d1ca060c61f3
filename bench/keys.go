package bench

import (
	"strconv"

	"github.com/shortstock/shortstock/internal/keys"
)

// keyKind tells links from SKUs.
type keyKind uint8

const (
	linkKey keyKind = iota
	skuKey
)

// keySet is the links and SKUs of one run. Every name carries the run's
// ID, so runs against a long-lived topology (shortstock demo) never collide
// with each other or with the demo's own keys, and each run's stock audit
// sees only what that run did. Paths are built once: the read loop only
// picks one.
type keySet struct {
	run        string
	codes      []string
	linkPaths  []string // "/" + code
	skus       []string
	stockPaths []string // "/v1/stock/" + sku
}

// warehouses every SKU of the bench has: "w1", and "w2" for every other
// one, so reservations without a warehouse sometimes have a choice.
var benchWarehouses = [...]string{"w1", "w2"}

func skuWarehouses(i int) []string {
	if i%2 == 0 {
		return benchWarehouses[:2]
	}
	return benchWarehouses[:1]
}

func newRunID() string { return keys.RandomCode(5) }

func newKeySet(run string, links, skus int) *keySet {
	k := &keySet{run: run, codes: make([]string, links), linkPaths: make([]string, links), skus: make([]string, skus), stockPaths: make([]string, skus)}
	for i := range links {
		k.codes[i] = "b" + run + "-" + strconv.Itoa(i)
		k.linkPaths[i] = "/" + k.codes[i]
	}
	for i := range skus {
		k.skus[i] = "BS-" + run + "-" + strconv.Itoa(i)
		k.stockPaths[i] = "/v1/stock/" + k.skus[i]
	}
	return k
}

func (k *keySet) path(kind keyKind, i int) string {
	if kind == skuKey {
		return k.stockPaths[i]
	}
	return k.linkPaths[i]
}
