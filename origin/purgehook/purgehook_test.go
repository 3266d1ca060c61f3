package purgehook

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var secret = []byte("0123456789abcdef0123")

// receiver is a webhook endpoint that verifies what it gets, failing the
// first failFirst requests with 503.
type receiver struct {
	v         Verifier
	failFirst int64
	calls     atomic.Int64
	mu        sync.Mutex
	got       []Payload
	raw       []*http.Request
	bodies    [][]byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if rc.calls.Add(1) <= rc.failFirst {
		w.WriteHeader(503)
		return
	}
	p, err := rc.v.Verify(r.Header, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	rc.mu.Lock()
	rc.got = append(rc.got, p)
	rc.raw = append(rc.raw, r.Clone(r.Context()))
	rc.bodies = append(rc.bodies, body)
	rc.mu.Unlock()
	w.WriteHeader(204)
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestWebhookSignedRetriedAndCounted: events are batched into one signed
// webhook, retried with backoff through 503s, counted; the receiver's
// Verifier refuses a forged body and a replay.
func TestWebhookSignedRetriedAndCounted(t *testing.T) {
	rc := &receiver{v: Verifier{Secret: secret}, failFirst: 2}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	var gated atomic.Int64
	s, err := New(Config{
		URLs: []string{srv.URL + "/hook"}, Secret: secret, Backoff: 5 * time.Millisecond, Batch: 20 * time.Millisecond,
		Gate: func(parts []Part) bool { return gated.Add(1) >= 3 }, // the edges catch up on the third look
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Enqueue(Event{Keys: []string{"link:a"}, Parts: []Part{{1, 5}}})
	s.Enqueue(Event{Keys: []string{"sku:S", "link:a"}, Parts: []Part{{2, 7}}})
	waitUntil(t, "the webhook", func() bool { rc.mu.Lock(); defer rc.mu.Unlock(); return len(rc.got) == 1 })
	rc.mu.Lock()
	p := rc.got[0]
	req, body := rc.raw[0], rc.bodies[0]
	rc.mu.Unlock()
	if strings.Join(p.Keys, " ") != "link:a sku:S" || p.All || p.Soft || p.Mode != ModeHard {
		t.Fatalf("payload %+v: want one batch of link:a and sku:S", p)
	}
	if gated.Load() < 3 {
		t.Fatalf("sent after %d gate looks, before the edges caught up", gated.Load())
	}
	// The sender counts once it has the answer, after the receiver kept it.
	waitUntil(t, "the send counted", func() bool { return s.Sends(srv.URL+"/hook", "ok") == 1 })
	if ok, retry := s.Sends(srv.URL+"/hook", "ok"), s.Sends(srv.URL+"/hook", "retry"); ok != 1 || retry != 2 {
		t.Fatalf("sends ok %v retry %v, want 1 and 2", ok, retry)
	}

	// Replayed as is: refused.
	if _, err := rc.v.Verify(req.Header, body); !errors.Is(err, ErrReplayed) {
		t.Fatalf("replay: %v, want ErrReplayed", err)
	}
	// Forged: the body changed, the signature did not.
	forged := []byte(strings.Replace(string(body), "link:a", "link:b", 1))
	if _, err := rc.v.Verify(req.Header, forged); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("forged body: %v, want ErrBadSignature", err)
	}
	// Signed with another secret: refused.
	h := req.Header.Clone()
	h.Set("X-Shortstock-Signature", SignWebhook([]byte("another secret, 16+"), h.Get("X-Shortstock-Timestamp"), body))
	if _, err := rc.v.Verify(h, body); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("wrong secret: %v", err)
	}
	// Old: refused even with a valid signature and a new nonce.
	late := Verifier{Secret: secret, Now: func() time.Time { return time.Now().Add(2 * time.Minute) }}
	if _, err := late.Verify(req.Header, body); !errors.Is(err, ErrStale) {
		t.Fatalf("two minutes late: %v, want ErrStale", err)
	}
}

// TestGivesUpAfterAttempts: a hook that always fails is tried Attempts
// times and counted as failed; the sender goes on.
func TestGivesUpAfterAttempts(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(500)
	}))
	defer srv.Close()
	s, err := New(Config{URLs: []string{"purge+" + srv.URL}, Secret: secret, Attempts: 3, Backoff: time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Enqueue(Event{All: true, Soft: true})
	waitUntil(t, "giving up", func() bool { return s.Sends("purge+"+srv.URL, "failed") == 1 })
	if calls.Load() != 3 {
		t.Fatalf("%d attempts, want 3", calls.Load())
	}
}

func TestConfigRefused(t *testing.T) {
	for _, c := range []Config{
		{Secret: secret},
		{URLs: []string{"http://x"}, Secret: []byte("short")},
		{URLs: []string{"ftp://x"}, Secret: secret},
		{URLs: []string{"purge+http://"}, Secret: secret},
	} {
		if s, err := New(c); err == nil {
			s.Close()
			t.Errorf("%+v accepted", c)
		}
	}
}
