package origin

import "github.com/shortstock/shortstock/origin/adminsec"

// The admin security API moved to package adminsec; these names keep
// origin's public API (Config.ScopedAdminKeys, the URL policy errors) as it
// was.

type (
	// Scope is adminsec.Scope.
	Scope = adminsec.Scope
	// AdminKey is adminsec.AdminKey.
	AdminKey = adminsec.AdminKey
	// URLPolicy is adminsec.URLPolicy.
	URLPolicy = adminsec.URLPolicy
	// PolicyError is adminsec.PolicyError.
	PolicyError = adminsec.PolicyError
)

// Scopes, see adminsec.
const (
	ScopeLinks = adminsec.ScopeLinks
	ScopeStock = adminsec.ScopeStock
	ScopeRead  = adminsec.ScopeRead
	ScopeAll   = adminsec.ScopeAll

	MinAdminKeyLen   = adminsec.MinAdminKeyLen
	FlagIDNHomograph = adminsec.FlagIDNHomograph
)

// Sentinels of adminsec, under their old names.
var (
	ErrInvalidScope     = adminsec.ErrInvalidScope
	ErrAdminKeyTooShort = adminsec.ErrAdminKeyTooShort
	ErrInvalidKeyDigest = adminsec.ErrInvalidKeyDigest
	ErrInvalidURL       = adminsec.ErrInvalidURL
	ErrPrivateTarget    = adminsec.ErrPrivateTarget
	ErrOwnDomain        = adminsec.ErrOwnDomain
	ErrHomograph        = adminsec.ErrHomograph
)

// NewAdminKey is adminsec.NewAdminKey.
func NewAdminKey(key string, scopes Scope) AdminKey { return adminsec.NewAdminKey(key, scopes) }

// ParseScopes is adminsec.ParseScopes.
func ParseScopes(list string) (Scope, error) { return adminsec.ParseScopes(list) }

// ParseAdminKey is adminsec.ParseAdminKey.
func ParseAdminKey(spec string) (AdminKey, error) { return adminsec.ParseAdminKey(spec) }

// ParseAdminKeySHA256 is adminsec.ParseAdminKeySHA256.
func ParseAdminKeySHA256(spec string) (AdminKey, error) { return adminsec.ParseAdminKeySHA256(spec) }
