package origin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/shortstock/shortstock/origin/adminsec"
)

// requireAdmin runs, in order: the client IP's request budget, its failed
// authentication budget (checked before any key is, so a guesser who ran
// out learns nothing more), the key, the key's own budget, and the key's
// scopes. Every refusal comes before the handler, so it changes nothing.
// scopesKey carries the admin key's scopes, for a handler whose resource
// depends on what it finds (a job is a stock job or a links import).
type scopesKey struct{}

// allowedOn is requireAdmin's scope check, for such a handler.
func allowedOn(r *http.Request, res adminsec.Resource) *apiError {
	scopes, _ := r.Context().Value(scopesKey{}).(Scope)
	if adminsec.Allows(scopes, res, r.Method) {
		return nil
	}
	return &apiError{http.StatusForbidden, "forbidden", "this key's scopes (" + scopes.String() + ") do not allow " + r.Method + " here; it needs " + res.Scope().String() + " or read"}
}

func (s *Server) requireAdmin(res adminsec.Resource, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := s.cfg.Clock.Now()
		ip := adminsec.ClientIP(r, s.cfg.TrustedProxies)
		var (
			idx    int
			scopes Scope
			ok     bool
			check  func() bool
		)
		_, presented := r.Header["Authorization"]
		if presented {
			check = func() bool {
				if key, bearer := adminsec.Bearer(r); bearer {
					idx, scopes, ok = s.auth.Lookup(key)
				}
				return ok
			}
		}
		d := s.ipLimits.Admit(ip, check, now)
		if !d.OK {
			s.rateLimited(w, d.Limit, d.Wait)
			return
		}
		if !ok {
			s.metrics.authFailures.WithLabelValues("admin").Inc()
			if d.BlockedNow {
				s.log.Warn("admin auth failures from one client over the limit; refusing it for a while",
					"client", ip.String(), "retry_after_s", adminsec.RetryAfter(d.BlockWait))
			}
			// The route pattern, not the path: a refused request's path is
			// the sender's text, and could hold anything, a key included.
			s.log.Debug("admin auth failed", "client", ip.String(), "key_given", presented, "method", r.Method, "route", r.Pattern)
			w.Header().Set("WWW-Authenticate", `Bearer realm="shortstock"`)
			writeJSON(w, http.StatusUnauthorized, &apiError{Code: "unauthorized", Message: "a valid admin key is required: Authorization: Bearer KEY"})
			return
		}
		if ok, wait := s.keyLimits.Take(idx, now); !ok {
			s.rateLimited(w, adminsec.LimitKey, wait)
			return
		}
		if !adminsec.Allows(scopes, res, r.Method) {
			s.metrics.forbidden.Inc()
			need := res.Scope().String()
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				need += " or read"
			}
			writeJSON(w, http.StatusForbidden, &apiError{Code: "forbidden",
				Message: "this key's scopes (" + scopes.String() + ") do not allow " + r.Method + " here; it needs " + need})
			return
		}
		ctx := context.WithValue(withActor(r.Context(), s.auth.KeyID(idx)), scopesKey{}, scopes)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// requireCluster guards the internal API: the client IP's internal
// budget first, then its failed-authentication budget, then a cluster
// token, compared in constant time against every accepted one (old and
// new during a rotation). Only an explicit mode skips the token:
// Config.InternalInsecure (every client) or Config.InternalLoopback
// (clients connected from a loopback address).
func (s *Server) requireCluster(next http.Handler) http.Handler {
	var digests [][sha256.Size]byte
	for _, t := range s.cfg.clusterTokens() {
		digests = append(digests, sha256.Sum256([]byte(t)))
	}
	insecure, loopback := s.cfg.InternalInsecure, s.cfg.InternalLoopback
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := s.cfg.Clock.Now()
		ip := adminsec.ClientIP(r, s.cfg.TrustedProxies)
		ok := insecure
		var check func() bool
		switch {
		case loopback:
			ok = isLoopback(r.RemoteAddr)
		case !ok:
			// Only a presented token can be a guess, so only its check is
			// charged to the failure budget.
			if _, presented := r.Header["Authorization"]; presented {
				check = func() bool {
					got, has := adminsec.Bearer(r)
					sum := sha256.Sum256([]byte(got))
					match := 0
					for i := range digests {
						match |= subtle.ConstantTimeCompare(sum[:], digests[i][:])
					}
					ok = has && match == 1
					return ok
				}
			}
		}
		d := s.internalLimits.Admit(ip, check, now)
		if !d.OK {
			limit := adminsec.LimitAuth
			if d.Limit != adminsec.LimitAuth {
				limit = limitInternal
			}
			s.rateLimited(w, limit, d.Wait)
			return
		}
		if !ok {
			s.metrics.authFailures.WithLabelValues("internal").Inc()
			writeJSON(w, http.StatusUnauthorized, &apiError{Code: "unauthorized", Message: "the internal API needs the cluster token"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limitInternal labels refusals by the internal API's request budget.
const limitInternal = "internal"

// rateLimited answers 429 with Retry-After.
func (s *Server) rateLimited(w http.ResponseWriter, limit string, wait time.Duration) {
	s.metrics.rateLimited.WithLabelValues(limit).Inc()
	secs := adminsec.RetryAfter(wait)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	msg := "too many requests; retry after " + strconv.Itoa(secs) + " s"
	switch limit {
	case adminsec.LimitAuth:
		msg = "too many failed authentications from this client; retry after " + strconv.Itoa(secs) + " s"
	case adminsec.LimitKey:
		msg = "too many requests with this key; retry after " + strconv.Itoa(secs) + " s"
	}
	writeJSON(w, http.StatusTooManyRequests, &apiError{Code: "rate_limited", Message: msg})
}

// isLoopback reports whether a connection's peer address is a loopback
// one.
func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
