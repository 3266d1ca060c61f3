package purgehook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Event is one thing to purge downstream.
type Event struct {
	// Keys are surrogate keys ("link:CODE", "sku:SKU", "tag:T"); ignored with All.
	Keys []string
	All  bool
	Soft bool
	// Parts are the change-log positions (partition, seq) behind the
	// event, for the Gate.
	Parts []Part
}

// Part is one change's place in the log.
type Part struct {
	P   int
	Seq uint64
}

// Config configures a Sender.
type Config struct {
	// URLs are the hooks: "purge+http://host:port/path" (or purge+https)
	// sends a PURGE request with Surrogate-Key (Varnish, Fastly-style);
	// "http(s)://..." POSTs a signed JSON webhook. At least one.
	URLs []string
	// Secret signs every purge; at least 16 bytes.
	Secret []byte
	// Region is sent in webhooks. Optional.
	Region string
	// Gate, when set, reports whether the edges have applied every change
	// of parts; a batch waits for it (polling) at most GateWait before it
	// is sent anyway.
	Gate func(parts []Part) bool
	// GateWait bounds the wait for Gate. Default 2s.
	GateWait time.Duration
	// Batch is how long events gather into one send. Default 10ms.
	Batch time.Duration
	// Attempts per send (the first and the retries) and the first retry's
	// backoff, which doubles. Defaults 5 and 100ms.
	Attempts int
	Backoff  time.Duration
	// Timeout bounds one request. Default 2s.
	Timeout time.Duration
	// QueueLen bounds events waiting; more are dropped and counted.
	// Default 10000.
	QueueLen int
	// Logger and Registerer; defaults slog.Default() and none.
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

type hook struct {
	raw, target string
	purge       bool // PURGE style, else webhook
}

// Sender sends purges to the hooks from one goroutine. Close stops it.
type Sender struct {
	cfg    Config
	hooks  []hook
	client *http.Client
	log    *slog.Logger
	queue  chan Event
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once

	sends   *prometheus.CounterVec // by hook, result
	dropped prometheus.Counter
	// counts mirrors sends, for Sends: hook URL + " " + result.
	counts sync.Map // string -> *atomic.Int64
}

// ParseURL checks one hook URL and says whether it is PURGE style.
func ParseURL(raw string) (target string, purge bool, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", false, fmt.Errorf("purge hook %q: %w", raw, err)
	}
	switch u.Scheme {
	case "purge+http", "purge+https":
		purge = true
		u.Scheme = strings.TrimPrefix(u.Scheme, "purge+")
	case "http", "https":
	default:
		return "", false, fmt.Errorf("purge hook %q: scheme must be purge+http(s) (PURGE by surrogate key) or http(s) (signed JSON webhook)", raw)
	}
	if u.Host == "" {
		return "", false, fmt.Errorf("purge hook %q: no host", raw)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String(), purge, nil
}

// New validates cfg and starts the sender.
func New(cfg Config) (*Sender, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("purgehook: no URLs")
	}
	if len(cfg.Secret) < 16 {
		return nil, errors.New("purgehook: the secret must be at least 16 bytes")
	}
	s := &Sender{cfg: cfg, stop: make(chan struct{}), done: make(chan struct{})}
	for _, raw := range cfg.URLs {
		t, p, err := ParseURL(raw)
		if err != nil {
			return nil, err
		}
		s.hooks = append(s.hooks, hook{raw: raw, target: t, purge: p})
	}
	if s.cfg.GateWait <= 0 {
		s.cfg.GateWait = 2 * time.Second
	}
	if s.cfg.Batch <= 0 {
		s.cfg.Batch = 10 * time.Millisecond
	}
	if s.cfg.Attempts <= 0 {
		s.cfg.Attempts = 5
	}
	if s.cfg.Backoff <= 0 {
		s.cfg.Backoff = 100 * time.Millisecond
	}
	if s.cfg.Timeout <= 0 {
		s.cfg.Timeout = 2 * time.Second
	}
	if s.cfg.QueueLen <= 0 {
		s.cfg.QueueLen = 10000
	}
	s.log = cfg.Logger
	if s.log == nil {
		s.log = slog.Default()
	}
	s.client = &http.Client{Timeout: s.cfg.Timeout}
	s.queue = make(chan Event, s.cfg.QueueLen)
	s.sends = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shortstock_origin_purge_hook_sends_total", Help: "Downstream purge requests, by hook and result (ok, retry, failed).",
	}, []string{"hook", "result"})
	s.dropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "shortstock_origin_purge_hook_dropped_total", Help: "Purge events dropped because the hook queue was full.",
	})
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{s.sends, s.dropped} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	go s.run()
	return s, nil
}

// Enqueue queues an event; it never blocks (a full queue drops it).
func (s *Sender) Enqueue(e Event) {
	select {
	case s.queue <- e:
	default:
		s.dropped.Inc()
	}
}

// Close stops the sender (what is queued is not sent) and waits for it.
// It is idempotent.
func (s *Sender) Close() {
	s.once.Do(func() { close(s.stop) })
	<-s.done
}

// Sends returns the count of sends to hook url with result, for tests.
func (s *Sender) Sends(url, result string) float64 {
	if v, ok := s.counts.Load(url + " " + result); ok {
		return float64(v.(*atomic.Int64).Load())
	}
	return 0
}

func (s *Sender) run() {
	defer close(s.done)
	for {
		var first Event
		select {
		case <-s.stop:
			return
		case first = <-s.queue:
		}
		batch := []Event{first}
		timer := time.NewTimer(s.cfg.Batch)
	gather:
		for len(batch) < 500 {
			select {
			case e := <-s.queue:
				batch = append(batch, e)
			case <-timer.C:
				break gather
			case <-s.stop:
				timer.Stop()
				return
			}
		}
		timer.Stop()
		s.gate(batch)
		for _, e := range merge(batch) {
			for _, h := range s.hooks {
				s.send(h, e)
			}
		}
	}
}

// gate waits until the edges applied the batch's changes, or GateWait.
func (s *Sender) gate(batch []Event) {
	if s.cfg.Gate == nil {
		return
	}
	var parts []Part
	for _, e := range batch {
		parts = append(parts, e.Parts...)
	}
	deadline := time.Now().Add(s.cfg.GateWait)
	for !s.cfg.Gate(parts) && time.Now().Before(deadline) {
		select {
		case <-s.stop:
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// merge folds a batch into at most one event per mode: an "all" makes the
// keys of its softness moot.
func merge(batch []Event) []Event {
	var out []Event
	for _, soft := range []bool{false, true} {
		var m Event
		m.Soft = soft
		seen := map[string]bool{}
		any := false
		for _, e := range batch {
			if e.Soft != soft {
				continue
			}
			any = true
			m.All = m.All || e.All
			for _, k := range e.Keys {
				if !seen[k] {
					seen[k] = true
					m.Keys = append(m.Keys, k)
				}
			}
		}
		if !any {
			continue
		}
		if m.All {
			m.Keys = nil
		}
		out = append(out, m)
	}
	return out
}

func (s *Sender) count(hook, result string) {
	s.sends.WithLabelValues(hook, result).Inc()
	v, _ := s.counts.LoadOrStore(hook+" "+result, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

// send delivers one event to one hook, retrying with backoff.
func (s *Sender) send(h hook, e Event) {
	backoff := s.cfg.Backoff
	for attempt := 1; ; attempt++ {
		err := s.try(h, e)
		if err == nil {
			s.count(h.raw, "ok")
			return
		}
		if attempt >= s.cfg.Attempts {
			s.count(h.raw, "failed")
			s.log.Warn("purge hook: giving up", "hook", h.raw, "attempts", attempt, "err", err)
			return
		}
		s.count(h.raw, "retry")
		select {
		case <-s.stop:
			return
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

// try makes one request (fresh timestamp, nonce and signature each time:
// a retry is not a replay).
func (s *Sender) try(h hook, e Event) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	nonce := Nonce()
	md := mode(e.All, e.Soft)
	var req *http.Request
	var err error
	if h.purge {
		keys := joinKeys(e.Keys)
		req, err = http.NewRequestWithContext(ctx, "PURGE", h.target, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Surrogate-Key", keys)
		req.Header.Set("X-Purge-Mode", md)
		req.Header.Set("X-Purge-Timestamp", ts)
		req.Header.Set("X-Purge-Nonce", nonce)
		req.Header.Set("X-Purge-Signature", SignPURGE(s.cfg.Secret, ts, nonce, md, keys))
	} else {
		keys := e.Keys
		if keys == nil {
			keys = []string{}
		}
		body, _ := json.Marshal(Payload{Keys: keys, All: e.All, Soft: e.Soft, Mode: md, Timestamp: mustInt(ts), Nonce: nonce, Region: s.cfg.Region})
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, h.target, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Shortstock-Timestamp", ts)
		req.Header.Set("X-Shortstock-Signature", SignWebhook(s.cfg.Secret, ts, body))
	}
	res, err := s.client.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}

func mustInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
