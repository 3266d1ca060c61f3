package redisstore

import (
	"fmt"
	"strconv"
)

// Script replies arrive as []any of string, int64 and nested []any. These
// helpers check every shape instead of trusting it, so a foreign value in
// the keyspace or a script bug becomes an error, never a panic.

// replyOf splits a script reply into its tag and the rest.
func replyOf(v any) (tag string, rest []any, err error) {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return "", nil, fmt.Errorf("%w: %T %v", errBadReply, v, v)
	}
	tag, ok = arr[0].(string)
	if !ok {
		return "", nil, fmt.Errorf("%w: tag %T %v", errBadReply, arr[0], arr[0])
	}
	return tag, arr[1:], nil
}

// at returns rest[i], or an error if rest is too short.
func at(rest []any, i int) (any, error) {
	if i >= len(rest) {
		return nil, fmt.Errorf("%w: want %d values, got %d", errBadReply, i+1, len(rest))
	}
	return rest[i], nil
}

// toInt reads an integer sent as a Redis integer or as a decimal string.
func toInt(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: not an integer: %q", errBadReply, x)
		}
		return n, nil
	}
	return 0, fmt.Errorf("%w: not an integer: %T %v", errBadReply, v, v)
}

// toVersion reads a version: an integer >= 0.
func toVersion(v any) (uint64, error) {
	n, err := toInt(v)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, fmt.Errorf("%w: negative version %d", errBadReply, n)
	}
	return uint64(n), nil
}

func toString(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%w: not a string: %T %v", errBadReply, v, v)
	}
	return s, nil
}

// toHash reads a flat HGETALL reply (field, value, field, value...).
func toHash(v any) (map[string]string, error) {
	arr, ok := v.([]any)
	if !ok || len(arr)%2 != 0 {
		return nil, fmt.Errorf("%w: not a hash: %T %v", errBadReply, v, v)
	}
	h := make(map[string]string, len(arr)/2)
	for i := 0; i < len(arr); i += 2 {
		f, ok1 := arr[i].(string)
		val, ok2 := arr[i+1].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%w: hash entry %T/%T", errBadReply, arr[i], arr[i+1])
		}
		h[f] = val
	}
	return h, nil
}

func errBadReplyf(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errBadReply}, a...)...)
}
