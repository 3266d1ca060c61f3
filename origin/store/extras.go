package store

import (
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// LinkExtras are a link's optional features (shared/API.md "Links,
// more"). The zero value is a plain link, which is what every link stored
// before these fields existed reads back as.
type LinkExtras struct {
	// Tags label the link for listing and export; each matches ValidTag.
	// Kept sorted and without duplicates.
	Tags []string `json:"tags"`
	// Title is free text for people, at most MaxTitleLen bytes.
	Title string `json:"title"`
	// MaxVisits, when set (> 0), is how many redirects the link may answer
	// in total, over every edge and region; past it the edges answer 404.
	MaxVisits *int64 `json:"max_visits"`
	// ValidSince, when set, is when the link starts to redirect; before it
	// the edges answer as for a missing link.
	ValidSince *time.Time `json:"valid_since"`
	// ForwardQuery appends the request's query string to the target.
	ForwardQuery bool `json:"forward_query"`
	// Targets are device-specific targets chosen by User-Agent.
	Targets *Targets `json:"targets,omitempty"`
}

// Targets are the device-specific targets of a link; an empty one is unset.
type Targets struct {
	IOS     string `json:"ios,omitempty"`
	Android string `json:"android,omitempty"`
}

// Limits of the extras.
const (
	MaxTags     = 32
	MaxTagLen   = 32
	MaxTitleLen = 512
	// MaxVisitsLimit bounds max_visits (far below int64 overflow).
	MaxVisitsLimit = 1 << 40
)

// ValidTag reports whether t matches [A-Za-z0-9_-]{1,32}.
func ValidTag(t string) bool {
	if len(t) == 0 || len(t) > MaxTagLen {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// NormTags returns tags sorted and without duplicates (a new slice; nil
// for none), so that a link's tags compare and index the same however
// they were given.
func NormTags(tags []string) []string {
	if len(tags) == 0 {
		return nil
	}
	out := slices.Clone(tags)
	slices.Sort(out)
	return slices.Compact(out)
}

// ValidateExtras checks the extras of a link whose expiry is expiresAt.
// It returns a sentence for the user.
func ValidateExtras(x LinkExtras, expiresAt *time.Time) (ok bool, why string) {
	if len(x.Tags) > MaxTags {
		return false, fmt.Sprintf("a link has at most %d tags", MaxTags)
	}
	for _, t := range x.Tags {
		if !ValidTag(t) {
			return false, fmt.Sprintf("tag %q must match [A-Za-z0-9_-]{1,32}", t)
		}
	}
	if ok, why := ValidTitle(x.Title); !ok {
		return false, why
	}
	if x.MaxVisits != nil && (*x.MaxVisits <= 0 || *x.MaxVisits > MaxVisitsLimit) {
		return false, fmt.Sprintf("max_visits must be between 1 and %d", int64(MaxVisitsLimit))
	}
	if x.ValidSince != nil && expiresAt != nil && !x.ValidSince.Before(*expiresAt) {
		return false, "valid_since must be before expires_at"
	}
	if x.Targets != nil {
		for _, u := range []string{x.Targets.IOS, x.Targets.Android} {
			if u == "" {
				continue
			}
			if ok, why := ValidateURL(u); !ok {
				return false, "targets: " + why
			}
		}
	}
	return true, ""
}

// ValidTitle accepts valid UTF-8 without control characters, at most
// MaxTitleLen bytes.
func ValidTitle(s string) (bool, string) {
	if len(s) > MaxTitleLen {
		return false, fmt.Sprintf("title is longer than %d bytes", MaxTitleLen)
	}
	if !utf8.ValidString(s) {
		return false, "title is not valid UTF-8"
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false, "title contains control characters"
		}
	}
	return true, ""
}

// Empty reports whether t sets no target.
func (t *Targets) Empty() bool { return t == nil || t.IOS == "" && t.Android == "" }
