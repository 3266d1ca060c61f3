package gossip

import "errors"

// Sentinel errors. Functions wrap them with %w and a detail; callers test
// with errors.Is.
var (
	// ErrConfig wraps every reason New refuses a Config.
	ErrConfig = errors.New("gossip: invalid config")
	// ErrNoSecretKey: a Config without SecretKeys and without Insecure.
	// Gossip carries invalidations that steer every edge's cache, so an
	// unencrypted pool must be an explicit choice, never an accident.
	ErrNoSecretKey = errors.New("gossip: no secret key (set Insecure to run unencrypted)")
	// ErrInvalidKey: a secret key that is not 16, 24 or 32 bytes, or a
	// keyring operation memberlist refused.
	ErrInvalidKey = errors.New("gossip: invalid secret key")
	// ErrNotEncrypted: a keyring operation on an Insecure node.
	ErrNotEncrypted = errors.New("gossip: node runs without encryption")
	// ErrClosed: the Node has been shut down.
	ErrClosed = errors.New("gossip: node closed")
	// ErrJoin: none of the given peers could be contacted.
	ErrJoin = errors.New("gossip: join failed")
	// ErrInvalidChange: Publish of a change that does not validate.
	ErrInvalidChange = errors.New("gossip: invalid change")
	// ErrMalformedMessage: bytes that are not a gossip message.
	ErrMalformedMessage = errors.New("gossip: malformed message")
	// ErrMalformedState: bytes that are not a push/pull state record.
	ErrMalformedState = errors.New("gossip: malformed state")
	// ErrPartitioned: FaultTransport refused a dial to a partitioned peer.
	ErrPartitioned = errors.New("gossip: peer partitioned by fault injection")
)
