package coldtier

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
)

// IDKey holds the bucket's identity: a random ID written by the first
// origin that opens the bucket. The hot store records it, so origins of
// one hot store given different cold stores are told apart.
const IDKey = "tier-id"

// ID returns the bucket's identity, creating it if the bucket has none.
func (t *Tier) ID(ctx context.Context) (string, error) {
	raw, err := t.b.ReadAll(ctx, IDKey)
	if err == nil {
		return strings.TrimSpace(string(raw)), nil
	}
	if !isNotFound(err) {
		return "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	var rnd [16]byte
	_, _ = rand.Read(rnd[:])
	if err := t.b.WriteAll(ctx, IDKey, []byte(hex.EncodeToString(rnd[:])+"\n"), nil); err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	// Read back: of two origins creating it at once, the last write wins
	// for both.
	if raw, err = t.b.ReadAll(ctx, IDKey); err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return strings.TrimSpace(string(raw)), nil
}
