package edge

import "errors"

var (
	// ErrConfig wraps every configuration error New returns.
	ErrConfig = errors.New("edge: bad config")
	// ErrOrigin wraps failures to get an answer from any origin.
	ErrOrigin = errors.New("edge: origin unavailable")
	// ErrProtocol wraps answers from an origin that break internal/wire.
	ErrProtocol = errors.New("edge: bad answer from origin")
	// ErrClosed is returned by Serve after Shutdown or Close.
	ErrClosed = errors.New("edge: server closed")
)
