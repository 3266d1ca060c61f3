package adminsec

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// Keyring holds admin keys as SHA-256 digests only, so a memory dump or a
// debug print never shows a usable key; digests also make every comparison
// the same length, which constant-time comparison needs. A key given twice
// gets the union of its scopes.
type Keyring struct {
	keys []AdminKey
}

// NewKeyring holds raw keys (every scope) and scoped ones.
func NewKeyring(raw []string, scoped []AdminKey) *Keyring {
	k := &Keyring{}
	add := func(a AdminKey) {
		for i := range k.keys {
			if k.keys[i].SHA256 == a.SHA256 {
				k.keys[i].Scopes |= a.Scopes
				return
			}
		}
		k.keys = append(k.keys, a)
	}
	for _, key := range raw {
		add(NewAdminKey(key, ScopeAll))
	}
	for _, a := range scoped {
		add(a)
	}
	return k
}

// Lookup compares against every key without stopping early, so timing
// says nothing about which key, or how much of one, matched. It returns
// the key's index (for its rate limit) and scopes.
func (k *Keyring) Lookup(key string) (idx int, scopes Scope, ok bool) {
	d := sha256.Sum256([]byte(key))
	match, at := 0, 0
	for i := range k.keys {
		eq := subtle.ConstantTimeCompare(d[:], k.keys[i].SHA256[:])
		at = subtle.ConstantTimeSelect(eq, i, at)
		match |= eq
	}
	if match != 1 {
		return 0, 0, false
	}
	return at, k.keys[at].Scopes, true
}

// Bearer returns the token of an "Authorization: Bearer TOKEN" header.
func Bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) <= len(p) || !strings.EqualFold(h[:len(p)], p) {
		return "", false
	}
	return strings.TrimSpace(h[len(p):]), true
}

// Resource is what an admin route acts on, for scope checks.
type Resource uint8

const (
	ResNone  Resource = iota // no resource (unknown routes): any valid key
	ResLinks                 // /v1/links
	ResStock                 // /v1/stock, /v1/reservations
)

// Allows reports whether scopes permit method on res: the resource's own
// scope allows everything on it, ScopeRead allows reads everywhere.
func Allows(scopes Scope, res Resource, method string) bool {
	read := method == http.MethodGet || method == http.MethodHead
	switch {
	case res == ResNone:
		return true
	case read && scopes&ScopeRead != 0:
		return true
	case res == ResLinks:
		return scopes&ScopeLinks != 0
	case res == ResStock:
		return scopes&ScopeStock != 0
	}
	return false
}

// Scope is the scope that allows every method on res.
func (res Resource) Scope() Scope {
	if res == ResLinks {
		return ScopeLinks
	}
	return ScopeStock
}

// Len is how many distinct keys the ring holds.
func (k *Keyring) Len() int { return len(k.keys) }

// KeyID names the key at idx (from Lookup) without revealing it.
func (k *Keyring) KeyID(idx int) string { return k.keys[idx].ID() }
