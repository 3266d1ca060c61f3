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
// the same length, which constant-time comparison needs.
type keyring struct {
	digests [][sha256.Size]byte
}

func newKeyring(keys []string) *keyring {
	k := &keyring{}
	for _, key := range keys {
		k.digests = append(k.digests, sha256.Sum256([]byte(key)))
	}
	return k
}

// accepts compares against every key without stopping early, so timing
// says nothing about which key, or how much of one, matched.
func (k *keyring) accepts(key string) bool {
	d := sha256.Sum256([]byte(key))
	match := 0
	for i := range k.digests {
		match |= subtle.ConstantTimeCompare(d[:], k.digests[i][:])
	}
	return match == 1
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) <= len(p) || !strings.EqualFold(h[:len(p)], p) {
		return "", false
	}
	return strings.TrimSpace(h[len(p):]), true
}

func (s *Server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := bearer(r)
		if !ok || !s.auth.accepts(key) {
			s.metrics.authFailures.WithLabelValues("admin").Inc()
			w.Header().Set("WWW-Authenticate", `Bearer realm="shortstock"`)
			writeJSON(w, http.StatusUnauthorized, &apiError{Code: "unauthorized", Message: "a valid admin key is required: Authorization: Bearer KEY"})
			return
		}
		next.ServeHTTP(w, r)
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
