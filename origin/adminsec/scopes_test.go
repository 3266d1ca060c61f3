package adminsec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestParseScopes(t *testing.T) {
	for in, want := range map[string]Scope{
		"links": ScopeLinks, "stock": ScopeStock, "read": ScopeRead,
		"links+stock": ScopeLinks | ScopeStock, "read+links": ScopeRead | ScopeLinks,
		"links+stock+read": ScopeAll,
	} {
		got, err := ParseScopes(in)
		if err != nil || got != want {
			t.Errorf("ParseScopes(%q) = %v, %v; want %v", in, got, err, want)
		}
		if back, err := ParseScopes(got.String()); err != nil || back != got {
			t.Errorf("%v does not round-trip: %q", got, got.String())
		}
	}
	for _, in := range []string{"", "+", "links+", "+links", "Links", "link", "links+links", "all", "links stock", "links,stock"} {
		if _, err := ParseScopes(in); !errors.Is(err, ErrInvalidScope) {
			t.Errorf("ParseScopes(%q) accepted", in)
		}
	}
}

func TestParseAdminKey(t *testing.T) {
	const k = "0123456789abcdef"
	for _, tc := range []struct {
		spec, key string
		scopes    Scope
	}{
		{k, k, ScopeAll},
		{k + ":links", k, ScopeLinks},
		{k + ":stock+read", k, ScopeStock | ScopeRead},
		{"team:ops:0123456789abcdef", "team:ops:0123456789abcdef", ScopeAll}, // tail is not scope-like
		{"team:ops:secret-key-1:links+stock+read", "team:ops:secret-key-1", ScopeAll},
		{"my-key-0123456789:abc:links+stock+read", "my-key-0123456789:abc", ScopeAll},
		{"sk_live:AbCdEfGhIjKlMnOp", "sk_live:AbCdEfGhIjKlMnOp", ScopeAll}, // long word: part of the key
		{"0123456789abcdef:read:read", "0123456789abcdef:read", ScopeRead},
	} {
		got, err := ParseAdminKey(tc.spec)
		if err != nil {
			t.Errorf("ParseAdminKey(%q): %v", tc.spec, err)
			continue
		}
		if want := NewAdminKey(tc.key, tc.scopes); got != want {
			t.Errorf("ParseAdminKey(%q) = key %x %v; want key %q %v", tc.spec, got.SHA256[:4], got.Scopes, tc.key, tc.scopes)
		}
	}
	for _, tc := range []struct {
		spec string
		want error
	}{
		{"short", ErrAdminKeyTooShort},
		{"short-key:links", ErrAdminKeyTooShort},
		{"0123456789abcdef:lnks", ErrInvalidScope},       // typo: refused, not all scopes
		{"0123456789abcdef:links+stok", ErrInvalidScope}, // typo in a list
		{"0123456789abcdef:Read", ErrInvalidScope},
		{"0123456789abcdef:", ErrInvalidScope},
		{"0123456789abcdef:links+links", ErrInvalidScope},
		{"0123456789:hunter", ErrInvalidScope}, // a scope-like tail needs an explicit list
	} {
		_, err := ParseAdminKey(tc.spec)
		if !errors.Is(err, tc.want) {
			t.Errorf("ParseAdminKey(%q) = %v, want %v", tc.spec, err, tc.want)
		}
		assertNoSecret(t, err.Error(), tc.spec)
	}
}

func TestParseAdminKeySHA256(t *testing.T) {
	const key = "an-operator-key-0123456789"
	d := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(d[:])
	for spec, scopes := range map[string]Scope{h: ScopeAll, strings.ToUpper(h): ScopeAll, h + ":links+read": ScopeLinks | ScopeRead} {
		got, err := ParseAdminKeySHA256(spec)
		if err != nil || got != NewAdminKey(key, scopes) {
			t.Errorf("ParseAdminKeySHA256(%q) = %v, %v", spec, got, err)
		}
	}
	for _, spec := range []string{"", h[:63], h + "0", h[:62] + "zz", h + ":", h + ":nope", key, "sha256:" + h} {
		_, err := ParseAdminKeySHA256(spec)
		if err == nil {
			t.Errorf("ParseAdminKeySHA256(%q) accepted", spec)
			continue
		}
		assertNoSecret(t, err.Error(), spec)
	}
}

// An AdminKey printed or logged by mistake shows its scopes only.
func TestAdminKeyNeverPrintsItsDigest(t *testing.T) {
	k := NewAdminKey("printed-by-mistake-0123", ScopeLinks)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("oops", "key", k, "keys", []AdminKey{k})
	slog.New(slog.NewTextHandler(&buf, nil)).Info("oops", "key", k)
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k), buf.String()} {
		assertNoSecret(t, s, "printed-by-mistake-0123")
		if !strings.Contains(s, "links") {
			t.Errorf("%q does not show the scopes", s)
		}
	}
}

func TestScopesAllow(t *testing.T) {
	for _, tc := range []struct {
		scopes Scope
		res    Resource
		method string
		want   bool
	}{
		{ScopeAll, ResLinks, "POST", true},
		{ScopeLinks, ResLinks, "DELETE", true},
		{ScopeLinks, ResLinks, "GET", true},
		{ScopeLinks, ResStock, "GET", false},
		{ScopeLinks, ResStock, "PUT", false},
		{ScopeStock, ResStock, "POST", true},
		{ScopeStock, ResLinks, "GET", false},
		{ScopeRead, ResLinks, "GET", true},
		{ScopeRead, ResStock, "HEAD", true},
		{ScopeRead, ResLinks, "PATCH", false},
		{ScopeRead, ResStock, "POST", false},
		{ScopeRead | ScopeLinks, ResStock, "GET", true},
		{ScopeRead | ScopeLinks, ResStock, "PUT", false},
		{ScopeRead, ResNone, "POST", true}, // unknown routes: 404 for any key
	} {
		if got := Allows(tc.scopes, tc.res, tc.method); got != tc.want {
			t.Errorf("Allows(%v, %d, %s) = %v, want %v", tc.scopes, tc.res, tc.method, got, tc.want)
		}
	}
}

func TestKeyringMergesAndMatches(t *testing.T) {
	kr := NewKeyring([]string{"all-scopes-key-0123"}, []AdminKey{
		NewAdminKey("links-only-key-0123", ScopeLinks),
		NewAdminKey("links-only-key-0123", ScopeRead), // same key again: union
		NewAdminKey("all-scopes-key-0123", ScopeRead),
	})
	if len(kr.keys) != 2 {
		t.Fatalf("%d keys, want 2 after merging", len(kr.keys))
	}
	if i, s, ok := kr.Lookup("links-only-key-0123"); !ok || s != ScopeLinks|ScopeRead || i != 1 {
		t.Fatalf("lookup: %d %v %v", i, s, ok)
	}
	if _, s, ok := kr.Lookup("all-scopes-key-0123"); !ok || s != ScopeAll {
		t.Fatalf("lookup: %v %v", s, ok)
	}
	for _, k := range []string{"", "links-only-key-012", "links-only-key-01234", "LINKS-ONLY-KEY-0123"} {
		if _, _, ok := kr.Lookup(k); ok {
			t.Fatalf("lookup(%q) matched", k)
		}
	}
}

// assertNoSecret fails if out holds secret, or (for secrets long enough to
// matter) any 12-byte piece of it.
func assertNoSecret(t *testing.T, out, secret string) {
	t.Helper()
	if secret == "" {
		return
	}
	if strings.Contains(out, secret) {
		t.Errorf("%q contains the secret %q", out, secret)
		return
	}
	for i := 0; i+12 <= len(secret); i++ {
		if strings.Contains(out, secret[i:i+12]) {
			t.Errorf("%q contains part of the secret %q", out, secret)
			return
		}
	}
}
