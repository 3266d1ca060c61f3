package origin

import "errors"

// MinClusterTokenLen is the shortest internal API token New accepts: 32
// bytes, what wire.ClusterToken's 43 characters exceed.
const MinClusterTokenLen = 32

var (
	// ErrNoClusterToken: a Config has no cluster token and does not say
	// InternalInsecure. The internal API serves every cached answer and
	// takes click counts; it is never open by default.
	ErrNoClusterToken = errors.New("the internal API needs a cluster token (ClusterToken), or InternalInsecure to serve it without one")
	// ErrClusterTokenTooShort: a cluster token under MinClusterTokenLen.
	ErrClusterTokenTooShort = errors.New("a cluster token must be at least 32 bytes")
)
