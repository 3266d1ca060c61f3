package purgehook

import (
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Errors of Verifier.Verify.
var (
	ErrBadSignature = errors.New("purgehook: bad or missing signature")
	ErrStale        = errors.New("purgehook: timestamp outside the accepted window")
	ErrReplayed     = errors.New("purgehook: nonce seen before (replayed)")
	ErrMalformed    = errors.New("purgehook: malformed payload")
)

// Payload is the webhook's JSON body.
type Payload struct {
	// Keys are surrogate keys ("link:CODE", "sku:SKU", "tag:T"); empty with All.
	Keys      []string `json:"keys"`
	All       bool     `json:"all"`
	Soft      bool     `json:"soft"`
	Mode      string   `json:"mode"`
	Timestamp int64    `json:"timestamp"` // unix seconds, also in X-Shortstock-Timestamp
	Nonce     string   `json:"nonce"`
	Region    string   `json:"region,omitempty"`
}

// Verifier checks signed webhooks for a receiver: signature, freshness
// and that no nonce is accepted twice. Safe for concurrent use.
type Verifier struct {
	Secret []byte
	// Window is how far a timestamp may be from now. Default 60s. Nonces
	// are remembered for twice as long, so a replay is refused whether it
	// comes inside the window (seen nonce) or after it (stale).
	Window time.Duration
	// Now tells the time. Default time.Now.
	Now func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time
}

// Verify checks a webhook request whose body was read into body and
// returns its payload.
func (v *Verifier) Verify(h http.Header, body []byte) (Payload, error) {
	var p Payload
	ts := h.Get("X-Shortstock-Timestamp")
	want := SignWebhook(v.Secret, ts, body)
	if got := h.Get("X-Shortstock-Signature"); ts == "" || !hmac.Equal([]byte(got), []byte(want)) {
		return p, ErrBadSignature
	}
	if err := json.Unmarshal(body, &p); err != nil || strconv.FormatInt(p.Timestamp, 10) != ts || p.Nonce == "" {
		return p, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	window := v.Window
	if window <= 0 {
		window = time.Minute
	}
	t := now()
	if d := t.Sub(time.Unix(p.Timestamp, 0)); d > window || d < -window {
		return p, ErrStale
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen == nil {
		v.seen = map[string]time.Time{}
	}
	for n, at := range v.seen {
		if t.Sub(at) > 2*window {
			delete(v.seen, n)
		}
	}
	if _, dup := v.seen[p.Nonce]; dup {
		return p, ErrReplayed
	}
	v.seen[p.Nonce] = t
	return p, nil
}
