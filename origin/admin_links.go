package origin

import (
	"errors"
	"net/http"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/adminsec"
	"github.com/shortstock/shortstock/origin/store"
)

// generateAttempts bounds retries of generated codes on collision; with 62^7
// codes a collision is rare, several in a row means something is wrong.
const generateAttempts = 8

func (s *Server) createLink(w http.ResponseWriter, r *http.Request) {
	body, ae := s.readBody(w, r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	nl, ae := decodeCreateLink(body, s.cfg.Clock.Now())
	if ae == nil {
		ae = s.checkTarget(nl.URL)
	}
	if ae == nil {
		ae = s.checkTargets(nl.Targets)
	}
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	ctx, cancel := s.opContext(r)
	defer cancel()
	custom := nl.Code != ""
	var l store.Link
	var err error
	for attempt := 0; attempt < generateAttempts; attempt++ {
		if !custom {
			nl.Code = keys.RandomCode(s.cfg.CodeLength)
		}
		l, err = s.createLinkTiered(ctx, nl)
		if custom || !errors.Is(err, store.ErrCodeTaken) {
			break
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/links/"+l.Code)
	setChangeID(w, keys.KindLink, l.Code, l.Version)
	s.writeLink(w, http.StatusCreated, l)
}

// checkTarget applies the URL policy to a target that passed ValidateURL.
func (s *Server) checkTarget(url string) *apiError {
	_, err := s.policy.Check(url)
	var pe *PolicyError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe) && errors.Is(pe, ErrHomograph):
		return badRequest("suspicious_url", pe.Reason)
	case pe != nil:
		return badRequest("invalid_url", pe.Reason)
	}
	return badRequest("invalid_url", err.Error())
}

// writeLink answers with a link and its flags, computed from its URL so
// that links stored before a flag existed show it too.
// linkView is a link as the admin API shows it: the stored record plus
// "expired", so an admin can still read (and revive) a link the edges no
// longer serve.
type linkView struct {
	store.Link
	Expired bool `json:"expired"`
}

func (s *Server) writeLink(w http.ResponseWriter, status int, l store.Link) {
	writeJSON(w, status, s.viewOf(l))
}

// viewOf is l as the admin API shows it (also in lists and exports).
func (s *Server) viewOf(l store.Link) linkView {
	l.Flags = adminsec.LinkFlags(l.URL)
	if l.Tags == nil {
		l.Tags = []string{} // "tags": [] reads better than null
	}
	return linkView{Link: l, Expired: l.Expired(s.cfg.Clock.Now())}
}

// checkTargets applies the URL policy to device targets.
func (s *Server) checkTargets(t *store.Targets) *apiError {
	if t == nil {
		return nil
	}
	for _, u := range []string{t.IOS, t.Android} {
		if u == "" {
			continue
		}
		if ae := s.checkTarget(u); ae != nil {
			ae.Message = "targets: " + ae.Message
			return ae
		}
	}
	return nil
}

// pathCode returns the {code} path value, or an error answer for a malformed
// one (which cannot exist, so it is a 404 without a storage call).
func pathCode(r *http.Request) (string, *apiError) {
	code := r.PathValue("code")
	if !keys.ValidCode(code) {
		return "", &apiError{http.StatusNotFound, "not_found", "no link has that code (codes match [A-Za-z0-9][A-Za-z0-9_-]{0,63})"}
	}
	return code, nil
}

func linkNotFound(code string) *apiError {
	return &apiError{http.StatusNotFound, "not_found", "no link with code " + code}
}

func (s *Server) getLink(w http.ResponseWriter, r *http.Request) {
	code, ae := pathCode(r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	ctx, cancel := s.opContext(r)
	defer cancel()
	l, err := s.adminGetLink(ctx, code)
	if errors.Is(err, store.ErrNotFound) {
		s.writeError(w, r, linkNotFound(code))
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// shared/API.md: the admin GET of an expired link is 200 with the link
	// marked "expired": true; the edges answer 404 for it.
	s.writeLink(w, http.StatusOK, l)
}

func (s *Server) patchLink(w http.ResponseWriter, r *http.Request) {
	code, ae := pathCode(r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	body, ae := s.readBody(w, r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	p, ae := decodePatchLink(body, s.cfg.Clock.Now())
	if ae == nil && p.URL != nil {
		ae = s.checkTarget(*p.URL)
	}
	if ae == nil {
		ae = s.checkTargets(p.Targets)
	}
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	ctx, cancel := s.opContext(r)
	defer cancel()
	if err := s.ensureHot(ctx, code); err != nil {
		s.writeError(w, r, err)
		return
	}
	l, err := s.store.UpdateLink(ctx, code, p)
	if errors.Is(err, store.ErrNotFound) {
		s.writeError(w, r, linkNotFound(code))
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setChangeID(w, keys.KindLink, l.Code, l.Version)
	s.writeLink(w, http.StatusOK, l)
}

func (s *Server) deleteLink(w http.ResponseWriter, r *http.Request) {
	code, ae := pathCode(r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	ctx, cancel := s.opContext(r)
	defer cancel()
	if err := s.ensureHot(ctx, code); err != nil {
		s.writeError(w, r, err)
		return
	}
	version, err := s.store.DeleteLink(ctx, code)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = linkNotFound(code)
		}
		s.writeError(w, r, err)
		return
	}
	setChangeID(w, keys.KindLink, code, version)
	w.WriteHeader(http.StatusNoContent)
}

// linkStatsView is the body of GET /v1/links/{code}/stats.
type linkStatsView struct {
	Code      string     `json:"code"`
	Clicks    int64      `json:"clicks"`
	Version   uint64     `json:"version"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	Expired   bool       `json:"expired"`
}

func (s *Server) linkStats(w http.ResponseWriter, r *http.Request) {
	code, ae := pathCode(r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	ctx, cancel := s.opContext(r)
	defer cancel()
	l, err := s.adminGetLink(ctx, code)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = linkNotFound(code)
		}
		s.writeError(w, r, err)
		return
	}
	// Stats stay readable after expiry: that is when people look at them.
	writeJSON(w, http.StatusOK, linkStatsView{
		Code: l.Code, Clicks: l.Clicks, Version: l.Version,
		CreatedAt: l.CreatedAt, ExpiresAt: l.ExpiresAt, Expired: l.Expired(s.cfg.Clock.Now()),
	})
}
