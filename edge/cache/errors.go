package cache

import "errors"

var (
	// ErrConfig wraps every configuration error New returns.
	ErrConfig = errors.New("cache: bad config")
	// ErrUnavailable is returned by Get when the key is not cached (or only
	// past its grace period) and the Loader failed; it wraps the Loader's
	// error.
	ErrUnavailable = errors.New("cache: origin unavailable")
	// ErrRefused is returned when the Loader keeps returning a version older
	// than one an invalidation already announced: serving it would move the
	// key back in time.
	ErrRefused = errors.New("cache: loaded version is older than a known invalidation")
	// ErrClosed is returned by Get after Close.
	ErrClosed = errors.New("cache: closed")
	// ErrBadAnswer is returned by NewEntry for an answer an Entry cannot
	// hold.
	ErrBadAnswer = errors.New("cache: answer cannot be cached")
)
