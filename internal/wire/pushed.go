package wire

import (
	"encoding/binary"
	"errors"
	"time"
)

// A pushed answer is a fetch endpoint's answer carried inside a change
// (change.Change.Value): an edge that holds the key installs it instead of
// dropping its entry and fetching again. It holds what the fetch's status
// line, X-TTL-Ms and body hold; the version is the change's.
//
// Wire form: one status byte (PushedOK: 200, PushedMissing: 404), the TTL
// in milliseconds (uvarint), then the JSON body exactly as the endpoint
// sends it.
const (
	PushedOK      byte = 1
	PushedMissing byte = 2
)

// ErrPushedAnswer is returned by DecodePushedAnswer for bytes that are not
// a pushed answer.
var ErrPushedAnswer = errors.New("wire: malformed pushed answer")

// maxPushedTTL bounds the TTL a pushed answer may carry (a year), so a
// corrupt one cannot overflow a time.Duration.
const maxPushedTTL = 365 * 24 * time.Hour

// AppendPushedAnswer appends the wire form of a fetch answer to b.
func AppendPushedAnswer(b []byte, status int, ttl time.Duration, body []byte) []byte {
	s := PushedOK
	if status == 404 {
		s = PushedMissing
	}
	b = append(b, s)
	b = binary.AppendUvarint(b, uint64(max(ttl, 0).Milliseconds()))
	return append(b, body...)
}

// DecodePushedAnswer parses a pushed answer. The body aliases v.
func DecodePushedAnswer(v []byte) (status int, ttl time.Duration, body []byte, err error) {
	if len(v) < 2 {
		return 0, 0, nil, ErrPushedAnswer
	}
	switch v[0] {
	case PushedOK:
		status = 200
	case PushedMissing:
		status = 404
	default:
		return 0, 0, nil, ErrPushedAnswer
	}
	ms, n := binary.Uvarint(v[1:])
	if n <= 0 || ms > uint64(maxPushedTTL.Milliseconds()) || len(v) == 1+n {
		return 0, 0, nil, ErrPushedAnswer
	}
	return status, time.Duration(ms) * time.Millisecond, v[1+n:], nil
}
