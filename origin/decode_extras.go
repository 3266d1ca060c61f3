package origin

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

// targetsJSON is the "targets" object of a link body.
type targetsJSON struct {
	IOS     *string `json:"ios"`
	Android *string `json:"android"`
}

// extrasJSON are the extras fields of a create or PATCH body, as raw JSON
// so that PATCH can tell null (clear) from absent (keep).
type extrasJSON struct {
	Tags         json.RawMessage `json:"tags"`
	Title        json.RawMessage `json:"title"`
	MaxVisits    json.RawMessage `json:"max_visits"`
	ValidSince   json.RawMessage `json:"valid_since"`
	ForwardQuery json.RawMessage `json:"forward_query"`
	Targets      json.RawMessage `json:"targets"`
}

func (x *extrasJSON) any() bool {
	return x.Tags != nil || x.Title != nil || x.MaxVisits != nil || x.ValidSince != nil || x.ForwardQuery != nil || x.Targets != nil
}

func isNull(m json.RawMessage) bool { return string(m) == "null" }

// decodeExtras turns the extras of a body into a patch (a create applies
// it to zero extras). null clears a field; tags null or [] clear the tags.
func decodeExtras(x extrasJSON) (store.LinkPatch, *apiError) {
	var p store.LinkPatch
	if x.Tags != nil {
		var tags []string
		if !isNull(x.Tags) {
			if err := json.Unmarshal(x.Tags, &tags); err != nil {
				return p, badRequest("invalid_tags", "tags must be a list of strings")
			}
		}
		if len(tags) > store.MaxTags {
			return p, badRequest("invalid_tags", fmt.Sprintf("a link has at most %d tags", store.MaxTags))
		}
		for _, t := range tags {
			if !store.ValidTag(t) {
				return p, badRequest("invalid_tags", fmt.Sprintf("tag %q must match [A-Za-z0-9_-]{1,32}", t))
			}
		}
		tags = store.NormTags(tags)
		p.Tags = &tags
	}
	if x.Title != nil {
		var title string
		if !isNull(x.Title) {
			if err := json.Unmarshal(x.Title, &title); err != nil {
				return p, badRequest("invalid_title", "title must be a string")
			}
		}
		if ok, why := store.ValidTitle(title); !ok {
			return p, badRequest("invalid_title", why)
		}
		p.Title = &title
	}
	if x.MaxVisits != nil {
		if isNull(x.MaxVisits) {
			p.ClearMaxVisits = true
		} else {
			var n int64
			if err := json.Unmarshal(x.MaxVisits, &n); err != nil || n <= 0 || n > store.MaxVisitsLimit {
				return p, badRequest("invalid_max_visits", fmt.Sprintf("max_visits must be an integer between 1 and %d, or null", int64(store.MaxVisitsLimit)))
			}
			p.MaxVisits = &n
		}
	}
	if x.ValidSince != nil {
		if isNull(x.ValidSince) {
			p.ClearValidSince = true
		} else {
			var s string
			if err := json.Unmarshal(x.ValidSince, &s); err != nil {
				return p, badRequest("invalid_valid_since", "valid_since must be an RFC3339 string or null")
			}
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil || t.Year() > 9999 || t.Year() < 1970 {
				return p, badRequest("invalid_valid_since", "valid_since must be an RFC3339 time such as 2030-01-02T15:04:05Z")
			}
			t = t.UTC().Truncate(time.Millisecond)
			p.ValidSince = &t
		}
	}
	if x.ForwardQuery != nil {
		var b bool
		if isNull(x.ForwardQuery) || json.Unmarshal(x.ForwardQuery, &b) != nil {
			return p, badRequest("invalid_forward_query", "forward_query must be true or false")
		}
		p.ForwardQuery = &b
	}
	if x.Targets != nil {
		var t store.Targets
		if !isNull(x.Targets) {
			var tj targetsJSON
			if ae := decodeStrict(x.Targets, &tj); ae != nil {
				return p, badRequest("invalid_targets", `targets must be {"ios":URL,"android":URL}: `+ae.Message)
			}
			for _, f := range []struct {
				name string
				in   *string
				out  *string
			}{{"ios", tj.IOS, &t.IOS}, {"android", tj.Android, &t.Android}} {
				if f.in == nil || *f.in == "" {
					continue
				}
				if ok, why := store.ValidateURL(*f.in); !ok {
					return p, badRequest("invalid_targets", "targets."+f.name+": "+why)
				}
				*f.out = *f.in
			}
		}
		p.Targets = &t
	}
	return p, nil
}

// checkWindow refuses valid_since at or after expires_at when a body sets
// both (a PATCH that sets one is checked against the stored other by the
// store, atomically).
func checkWindow(validSince, expiresAt *time.Time) *apiError {
	if validSince != nil && expiresAt != nil && !validSince.Before(*expiresAt) {
		return badRequest("invalid_valid_since", "valid_since must be before expires_at")
	}
	return nil
}
