package origin

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

// LinkFeatures configures the link features of shared/API.md "Links,
// more": visit-limit leases and the public short URL (QR codes).
type LinkFeatures struct {
	// VisitLeaseTTL is how long an edge's share of a link's visits lasts
	// unless returned or renewed; one not back by then counts as used.
	// Default 10s.
	VisitLeaseTTL time.Duration
	// VisitLeaseDivide: one lease takes at most 1/VisitLeaseDivide of the
	// visits left (rounded up), so several edges share the rest. Default 4.
	VisitLeaseDivide int64
	// VisitLeaseMax caps one lease. Default 1000.
	VisitLeaseMax int64
	// PublicBaseURL is where the edges answer short links, e.g.
	// "https://sho.rt" (a short URL is PublicBaseURL + "/" + code); QR
	// codes encode it. Default "http://127.0.0.1:8080", the edge's default
	// listen address.
	PublicBaseURL string
}

func defaultLinkFeatures() LinkFeatures {
	return LinkFeatures{VisitLeaseTTL: 10 * time.Second, VisitLeaseDivide: 4, VisitLeaseMax: 1000, PublicBaseURL: "http://127.0.0.1:8080"}
}

func (f *LinkFeatures) fill() {
	d := defaultLinkFeatures()
	if f.VisitLeaseTTL == 0 {
		f.VisitLeaseTTL = d.VisitLeaseTTL
	}
	if f.VisitLeaseDivide == 0 {
		f.VisitLeaseDivide = d.VisitLeaseDivide
	}
	if f.VisitLeaseMax == 0 {
		f.VisitLeaseMax = d.VisitLeaseMax
	}
	if f.PublicBaseURL == "" {
		f.PublicBaseURL = d.PublicBaseURL
	}
}

func (f *LinkFeatures) validate() error {
	var errs []error
	if f.VisitLeaseTTL < 100*time.Millisecond || f.VisitLeaseTTL > store.MaxLeaseTTL {
		errs = append(errs, fmt.Errorf("VisitLeaseTTL %s is outside 100ms..%s", f.VisitLeaseTTL, store.MaxLeaseTTL))
	}
	if f.VisitLeaseDivide < 1 || f.VisitLeaseDivide > 1<<20 {
		errs = append(errs, fmt.Errorf("VisitLeaseDivide %d is outside 1..%d", f.VisitLeaseDivide, 1<<20))
	}
	if f.VisitLeaseMax < 1 || f.VisitLeaseMax > store.MaxVisitsLimit {
		errs = append(errs, fmt.Errorf("VisitLeaseMax %d must be at least 1", f.VisitLeaseMax))
	}
	if err := ValidatePublicBaseURL(f.PublicBaseURL); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ValidatePublicBaseURL accepts an absolute http(s) URL with a host and
// no query, fragment or userinfo (a path prefix is fine).
func ValidatePublicBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return fmt.Errorf("public base URL %q must be an absolute http(s) URL such as https://sho.rt, without query or fragment", s)
	}
	return nil
}
