package origin

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"strings"
)

// keyring holds admin keys as SHA-256 digests only, so a memory dump or a
// debug print never shows a usable key; digests also make every comparison
// the same length, which constant-time comparison needs. A key given twice
// gets the union of its scopes.
type keyring struct {
	keys []AdminKey
}

func newKeyring(raw []string, scoped []AdminKey) *keyring {
	k := &keyring{}
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

// lookup compares against every key without stopping early, so timing
// says nothing about which key, or how much of one, matched. It returns
// the key's index (for its rate limit) and scopes.
func (k *keyring) lookup(key string) (idx int, scopes Scope, ok bool) {
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

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) <= len(p) || !strings.EqualFold(h[:len(p)], p) {
		return "", false
	}
	return strings.TrimSpace(h[len(p):]), true
}

// resource is what an admin route acts on, for scope checks.
type resource uint8

const (
	resNone  resource = iota // no resource (unknown routes): any valid key
	resLinks                 // /v1/links
	resStock                 // /v1/stock, /v1/reservations
)

// allows reports whether scopes permit method on res: the resource's own
// scope allows everything on it, ScopeRead allows reads everywhere.
func allows(scopes Scope, res resource, method string) bool {
	read := method == http.MethodGet || method == http.MethodHead
	switch {
	case res == resNone:
		return true
	case read && scopes&ScopeRead != 0:
		return true
	case res == resLinks:
		return scopes&ScopeLinks != 0
	case res == resStock:
		return scopes&ScopeStock != 0
	}
	return false
}

func (res resource) scope() Scope {
	if res == resLinks {
		return ScopeLinks
	}
	return ScopeStock
}

// requireAdmin runs, in order: the client IP's request budget, its failed
// authentication budget (checked before any key is, so a guesser who ran
// out learns nothing more), the key, the key's own budget, and the key's
// scopes. Every refusal comes before the handler, so it changes nothing.
func (s *Server) requireAdmin(res resource, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := s.cfg.Clock.Now()
		ip := clientIP(r, s.cfg.TrustedProxies)
		_, presented := r.Header["Authorization"]
		d := s.ipLimits.admit(ip, presented, now)
		if !d.ok {
			s.rateLimited(w, d.limit, d.wait)
			return
		}
		var idx int
		var scopes Scope
		key, ok := bearer(r)
		if ok {
			idx, scopes, ok = s.auth.lookup(key)
		}
		if !ok {
			s.metrics.authFailures.WithLabelValues("admin").Inc()
			if d.blockedNow {
				s.log.Warn("admin auth failures from one client over the limit; refusing it for a while",
					"client", ip.String(), "retry_after_s", retryAfter(d.blockWait))
			}
			// The route pattern, not the path: a refused request's path is
			// the sender's text, and could hold anything, a key included.
			s.log.Debug("admin auth failed", "client", ip.String(), "key_given", presented, "method", r.Method, "route", r.Pattern)
			w.Header().Set("WWW-Authenticate", `Bearer realm="shortstock"`)
			writeJSON(w, http.StatusUnauthorized, &apiError{Code: "unauthorized", Message: "a valid admin key is required: Authorization: Bearer KEY"})
			return
		}
		if d.charged {
			s.ipLimits.refund(ip, now)
		}
		if ok, wait := s.keyLimits.take(idx, now); !ok {
			s.rateLimited(w, limitKey, wait)
			return
		}
		if !allows(scopes, res, r.Method) {
			s.metrics.forbidden.Inc()
			need := res.scope().String()
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				need += " or read"
			}
			writeJSON(w, http.StatusForbidden, &apiError{Code: "forbidden",
				Message: "this key's scopes (" + scopes.String() + ") do not allow " + r.Method + " here; it needs " + need})
			return
		}
		next.ServeHTTP(w, r.WithContext(withActor(r.Context(), s.auth.keys[idx].ID())))
	})
}

// requireCluster guards the internal API: the cluster token when one is
// configured, else loopback clients only.
func (s *Server) requireCluster(next http.Handler) http.Handler {
	token := sha256.Sum256([]byte(s.cfg.ClusterToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ok bool
		if s.cfg.ClusterToken != "" {
			got, has := bearer(r)
			d := sha256.Sum256([]byte(got))
			ok = has && subtle.ConstantTimeCompare(d[:], token[:]) == 1
		} else {
			ok = isLoopback(r.RemoteAddr)
		}
		if !ok {
			s.metrics.authFailures.WithLabelValues("internal").Inc()
			writeJSON(w, http.StatusUnauthorized, &apiError{Code: "unauthorized", Message: "the internal API needs the cluster token"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
