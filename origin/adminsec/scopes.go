package adminsec

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Scope is the set of admin API permissions a key carries, as bits.
type Scope uint8

const (
	// ScopeLinks allows every method on /v1/links.
	ScopeLinks Scope = 1 << iota
	// ScopeStock allows every method on /v1/stock and /v1/reservations
	// (reservations move stock, so they are part of it).
	ScopeStock
	// ScopeRead allows GET (and HEAD) on every admin endpoint.
	ScopeRead

	// ScopeAll is what a key given without a scope list gets, as keys did
	// before scopes existed.
	ScopeAll = ScopeLinks | ScopeStock | ScopeRead
)

// MinAdminKeyLen is the shortest raw admin key accepted: short keys can be
// guessed, rate limits or not.
const MinAdminKeyLen = 16

// scopeNames lists the scopes in the order String writes them.
var scopeNames = []struct {
	name  string
	scope Scope
}{{"links", ScopeLinks}, {"stock", ScopeStock}, {"read", ScopeRead}}

// Errors of ParseScopes, ParseAdminKey and ParseAdminKeySHA256. Their
// messages never quote the input: it may hold a key.
var (
	// ErrInvalidScope: a scope list that is not one or more of links,
	// stock and read joined by '+'.
	ErrInvalidScope = errors.New("invalid scope list: want one or more of links, stock, read joined by '+'")
	// ErrAdminKeyTooShort: a raw key shorter than MinAdminKeyLen.
	ErrAdminKeyTooShort = fmt.Errorf("admin keys must be at least %d characters", MinAdminKeyLen)
	// ErrInvalidKeyDigest: not 64 hex digits of a SHA-256 digest.
	ErrInvalidKeyDigest = errors.New("admin key digest must be 64 hex digits (the SHA-256 of the key)")
)

// String writes the scopes as a list ParseScopes reads back ("links+read").
func (s Scope) String() string {
	var parts []string
	for _, n := range scopeNames {
		if s&n.scope != 0 {
			parts = append(parts, n.name)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "+")
}

// ParseScopes reads a scope list: one or more of "links", "stock" and
// "read" joined by '+', each at most once, lower case.
func ParseScopes(list string) (Scope, error) {
	if list == "" {
		return 0, ErrInvalidScope
	}
	var s Scope
	for _, word := range strings.Split(list, "+") {
		var found Scope
		for _, n := range scopeNames {
			if word == n.name {
				found = n.scope
			}
		}
		if found == 0 || s&found != 0 {
			return 0, ErrInvalidScope
		}
		s |= found
	}
	return s, nil
}

// AdminKey is an accepted admin key as the origin keeps it: the SHA-256 of
// the key, never the key itself, and the scopes it grants. Its String and
// LogValue show the scopes only, so printing or logging one by mistake
// leaks nothing usable, not even the digest (which would allow guessing
// a weak key offline).
type AdminKey struct {
	SHA256 [sha256.Size]byte
	Scopes Scope
}

// NewAdminKey hashes key and pairs it with scopes.
func NewAdminKey(key string, scopes Scope) AdminKey {
	return AdminKey{SHA256: sha256.Sum256([]byte(key)), Scopes: scopes}
}

// ID names the key without revealing it: "key-" and the first 8 hex
// digits of its SHA-256 (the ledger's actor, logs). Admin keys are long
// random strings, so 32 bits of their digest say nothing usable.
func (k AdminKey) ID() string { return "key-" + hex.EncodeToString(k.SHA256[:4]) }

// String shows the scopes only.
func (k AdminKey) String() string { return "AdminKey(" + k.Scopes.String() + ")" }

// GoString keeps %#v from printing the digest.
func (k AdminKey) GoString() string { return k.String() }

// LogValue keeps slog from printing the digest.
func (k AdminKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// ParseAdminKey reads the command-line form of a raw key, KEY or
// KEY:SCOPES. Keys may contain ':', so the rule is:
//
//   - the text after the LAST ':' is the scope list when it is a valid one
//     ("ops-key-0123456789:links+read");
//   - when it only looks like one (nothing, or words of at most 6 letters
//     joined by '+', such as "lnks" or "Read") but is not valid, the key is
//     refused: a typo in a scope list must not silently become part of the
//     key and grant every scope;
//   - otherwise the whole text is the key, with every scope.
//
// A key that itself ends in ':' and a short word gets an explicit list:
// "team:ops:links+stock+read" is the key "team:ops" with all scopes, and
// "my-key-0123456789:abc:links+stock+read" the key "my-key-0123456789:abc".
func ParseAdminKey(spec string) (AdminKey, error) {
	key, scopes := spec, ScopeAll
	if i := strings.LastIndexByte(spec, ':'); i >= 0 {
		tail := spec[i+1:]
		if s, err := ParseScopes(tail); err == nil {
			key, scopes = spec[:i], s
		} else if looksLikeScopes(tail) {
			return AdminKey{}, fmt.Errorf("%w (the text after the key's last ':' is taken for one)", ErrInvalidScope)
		}
	}
	if len(key) < MinAdminKeyLen {
		return AdminKey{}, ErrAdminKeyTooShort
	}
	return NewAdminKey(key, scopes), nil
}

// looksLikeScopes reports whether s is made of words of at most 6 ASCII
// letters joined by '+' (or is empty): what a mistyped scope list looks like, and
// what the tail of a random key rarely does.
func looksLikeScopes(s string) bool {
	for _, w := range strings.Split(s, "+") {
		if len(w) > 6 {
			return false
		}
		for i := 0; i < len(w); i++ {
			if c := w[i] | 0x20; c < 'a' || c > 'z' {
				return false
			}
		}
	}
	return true
}

// ParseAdminKeySHA256 reads HEX or HEX:SCOPES, where HEX is the SHA-256 of
// the key in 64 hex digits (e.g. from `printf %s KEY | sha256sum`), so the
// key itself never appears on a command line or in the environment.
func ParseAdminKeySHA256(spec string) (AdminKey, error) {
	digest, scopes := spec, ScopeAll
	if i := strings.IndexByte(spec, ':'); i >= 0 {
		s, err := ParseScopes(spec[i+1:])
		if err != nil {
			return AdminKey{}, err
		}
		digest, scopes = spec[:i], s
	}
	var k AdminKey
	if len(digest) != hex.EncodedLen(sha256.Size) {
		return k, ErrInvalidKeyDigest
	}
	if _, err := hex.Decode(k.SHA256[:], []byte(digest)); err != nil {
		return AdminKey{}, ErrInvalidKeyDigest
	}
	k.Scopes = scopes
	return k, nil
}
