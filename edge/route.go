package edge

import "bytes"

// route classifies a request path without allocating. For a key route it
// returns the kind and the id (a subslice of path, not validated yet).
type routeKind uint8

const (
	routeNotFound routeKind = iota
	routeLink
	routeStock
	routeHealthz
	routeReadyz
	routeMetrics
	routeFavicon
	routeRobots
)

var (
	prefixStock = []byte("/v1/stock/")
	pathHealthz = []byte("/_/healthz")
	pathReadyz  = []byte("/_/readyz")
	pathMetrics = []byte("/_/metrics")
	pathFavicon = []byte("/favicon.ico")
	pathRobots  = []byte("/robots.txt")
)

func route(path []byte) (routeKind, []byte) {
	if len(path) < 2 || path[0] != '/' {
		return routeNotFound, nil
	}
	switch {
	case path[1] == '_':
		// '_' cannot start a code, so /_/... never shadows a link.
		switch {
		case bytes.Equal(path, pathHealthz):
			return routeHealthz, nil
		case bytes.Equal(path, pathReadyz):
			return routeReadyz, nil
		case bytes.Equal(path, pathMetrics):
			return routeMetrics, nil
		}
		return routeNotFound, nil
	case bytes.HasPrefix(path, prefixStock):
		return routeStock, path[len(prefixStock):]
	// '.' cannot be in a code, so these never shadow a link either.
	case bytes.Equal(path, pathFavicon):
		return routeFavicon, nil
	case bytes.Equal(path, pathRobots):
		return routeRobots, nil
	}
	id := path[1:]
	if bytes.IndexByte(id, '/') >= 0 {
		return routeNotFound, nil // more than one segment: not a code
	}
	return routeLink, id
}
