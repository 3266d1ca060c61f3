package tiering

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gocloud.dev/blob"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/coldtier"
	"github.com/shortstock/shortstock/origin/store"
)

// Config configures a Tiering.
type Config struct {
	// Store is the hot store; it must implement store.ColdLinks.
	Store store.Store
	// Bucket holds the cold segments. Tiering does not close it.
	Bucket *blob.Bucket
	// After: links with no click or write for this long move cold.
	After time.Duration
	// Interval between mover passes. Default After/4, within [1s, 10m].
	Interval time.Duration
	// SegmentLinks is the most links per segment. Default 100000.
	SegmentLinks int
	// Timeout bounds each object-store operation of a lookup. Default 2s.
	Timeout time.Duration
	// Backoff: after the cold store failed, lookups that need it answer
	// unavailable at once for this long. Default 2s.
	Backoff time.Duration
	Log     *slog.Logger
	// Hook, when set (tests), runs at each step of a pass: "candidates"
	// (listed, nothing written), "written", "verified", "listed" (the
	// segment's steps, coldtier.Tier.Hook), "listed-cold" (segment live,
	// nothing evicted), "evicting" (half the batch evicted); an error
	// stops the pass there, as a crash would.
	Hook func(step string) error
	// NoMover turns the periodic pass off (RunNow still runs one).
	NoMover bool
}

// ErrOtherColdStore: the cold store given is not the one the hot store's
// links were moved to (every origin of a hot store must share one).
var ErrOtherColdStore = errors.New("tiering: another cold store than the hot store's")

// ErrUnavailable: the cold store cannot answer now; wraps
// store.ErrUnavailable (the origin answers 503).
var ErrUnavailable = fmt.Errorf("%w: cold tier", store.ErrUnavailable)

// Tiering is the cold tier of one origin.
type Tiering struct {
	cfg  Config
	hot  store.Store
	cl   store.ColdLinks
	log  *slog.Logger
	tier atomic.Pointer[coldtier.Tier]

	downUntil atomic.Int64 // unix ns: the cold store failed, answer at once
	mismatch  atomic.Pointer[error]

	refreshedMu sync.Mutex
	refreshed   []uint64 // per partition: eviction count the tier was refreshed at

	runNow chan struct{}
	stop   chan struct{}
	done   chan struct{}
	close  sync.Once
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	lastRun *time.Time
	last    store.MoverRun

	m metrics
}

// New opens the cold tier (in the background if the cold store is
// unreachable now: until it opens, cold lookups answer unavailable) and
// starts the mover.
func New(cfg Config) (*Tiering, error) {
	cl, ok := cfg.Store.(store.ColdLinks)
	if !ok {
		return nil, fmt.Errorf("tiering: %T has no cold tier hooks (store.ColdLinks)", cfg.Store)
	}
	if cfg.Bucket == nil || cfg.After <= 0 {
		return nil, errors.New("tiering: need a bucket and After > 0")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = min(max(cfg.After/4, time.Second), 10*time.Minute)
	}
	if cfg.SegmentLinks <= 0 {
		cfg.SegmentLinks = 100000
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 2 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	t := &Tiering{
		cfg: cfg, hot: cfg.Store, cl: cl, log: cfg.Log,
		refreshed: make([]uint64, cfg.Store.Partitions().N()),
		runNow:    make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.m = newMetrics(t)
	t.tryOpen(t.ctx)
	if e := t.mismatch.Load(); e != nil {
		t.cancel()
		return nil, *e
	}
	go t.loop()
	return t, nil
}

// tryOpen opens the tier if it is not open yet; false if the store is
// unreachable.
func (t *Tiering) tryOpen(ctx context.Context) bool {
	if t.tier.Load() != nil {
		return true
	}
	if t.mismatch.Load() != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 10*t.cfg.Timeout)
	defer cancel()
	tr, err := coldtier.Open(ctx, t.cfg.Bucket, t.log)
	if err != nil {
		t.log.Warn("cold tier not open yet (lookups of evicted links answer 503)", "err", err)
		t.m.unavailable.Inc()
		t.downUntil.Store(time.Now().Add(t.cfg.Backoff).UnixNano())
		return false
	}
	id, err := tr.ID(ctx)
	if err == nil {
		var rec string
		if rec, err = t.cl.ColdTierID(ctx, id); err == nil && rec != id {
			err = fmt.Errorf("%w: this cold store is %s, the hot store's links went to %s", ErrOtherColdStore, id, rec)
			t.mismatch.Store(&err)
			t.log.Error("cold tier refused: another cold store than the hot store's (lookups of evicted links answer 503, nothing moves)", "err", err)
			return false
		}
	}
	if err != nil {
		t.log.Warn("cold tier not open yet (lookups of evicted links answer 503)", "err", err)
		t.m.unavailable.Inc()
		t.downUntil.Store(time.Now().Add(t.cfg.Backoff).UnixNano())
		return false
	}
	tr.Hook = t.cfg.Hook
	t.tier.Store(tr)
	return true
}

// Close stops the mover and waits for it. It is idempotent.
func (t *Tiering) Close() error {
	t.close.Do(func() {
		close(t.stop)
		t.cancel()
		<-t.done
	})
	return nil
}

// RunNow asks for a mover pass now (coalesced with one pending).
func (t *Tiering) RunNow() {
	select {
	case t.runNow <- struct{}{}:
	default:
	}
}

func (t *Tiering) loop() {
	defer close(t.done)
	tick := time.NewTicker(t.cfg.Interval)
	defer tick.Stop()
	for {
		if t.cfg.NoMover {
			select {
			case <-t.stop:
				return
			case <-t.runNow:
			}
		} else {
			select {
			case <-t.stop:
				return
			case <-t.runNow:
			case <-tick.C:
			}
		}
		t.Pass(t.ctx)
	}
}

func (t *Tiering) hook(step string) error {
	if t.cfg.Hook == nil {
		return nil
	}
	return t.cfg.Hook(step)
}

func (t *Tiering) down() bool { return time.Now().UnixNano() < t.downUntil.Load() }

func (t *Tiering) failed(err error) error {
	if errors.Is(err, coldtier.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		t.downUntil.Store(time.Now().Add(t.cfg.Backoff).UnixNano())
		t.m.unavailable.Inc()
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if errors.Is(err, coldtier.ErrCorrupt) {
		// Never served; the origin answers 503 as for an outage.
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}

// coldGet reads code from the cold tier: the link, store.ErrNotFound, or
// ErrUnavailable. The partition's eviction counter is read first: if links
// of the partition went cold since this origin last listed segments
// (another origin's mover), the new segments are loaded before the read,
// so the newest copy is found. Then a code in no filter costs no object
// read.
func (t *Tiering) coldGet(ctx context.Context, code string) (store.Link, error) {
	p := t.hot.Partitions().Partition(keys.KindLink, code)
	ev, err := t.cl.Evictions(ctx, p)
	if err != nil {
		return store.Link{}, err
	}
	if ev == 0 {
		return store.Link{Code: code}, store.ErrNotFound // nothing of this partition ever went cold
	}
	tr := t.tier.Load()
	if tr == nil {
		if t.down() || !t.tryOpen(ctx) {
			return store.Link{}, ErrUnavailable
		}
		tr = t.tier.Load()
	}
	t.refreshedMu.Lock()
	seen := t.refreshed[p]
	t.refreshedMu.Unlock()
	if ev != seen {
		if t.down() {
			return store.Link{}, ErrUnavailable
		}
		rctx, cancel := context.WithTimeout(ctx, 5*t.cfg.Timeout)
		err := tr.Refresh(rctx)
		cancel()
		if err != nil {
			return store.Link{}, t.failed(err)
		}
		t.refreshedMu.Lock()
		if ev > t.refreshed[p] {
			t.refreshed[p] = ev
		}
		t.refreshedMu.Unlock()
	}
	l, err := t.get(ctx, tr, code)
	if errors.Is(err, store.ErrNotFound) && tr.Broken() > 0 {
		// A listed segment is corrupt: the code may be in it.
		return store.Link{}, fmt.Errorf("%w: %d cold segments are corrupt (docs/tiers.md)", ErrUnavailable, tr.Broken())
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.Link{Code: code}, err
	}
	return l, err
}

func (t *Tiering) get(ctx context.Context, tr *coldtier.Tier, code string) (store.Link, error) {
	if t.down() && tr.MayHave(code) {
		return store.Link{}, ErrUnavailable
	}
	gctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	l, err := tr.Get(gctx, code)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Link{}, t.failed(err)
	}
	return l, err
}

// Lookup answers a hot miss (GetLink said ErrNotFound at Version 0): the
// cold copy, promoted back to the hot store at its own version, or
// store.ErrNotFound, or ErrUnavailable.
func (t *Tiering) Lookup(ctx context.Context, code string) (store.Link, error) {
	l, err := t.coldGet(ctx, code)
	if err != nil {
		return store.Link{Code: code}, err
	}
	t.m.coldReads.Inc()
	switch err := t.cl.PromoteLink(ctx, l, time.Now()); {
	case err == nil:
		t.m.promotions.Inc()
		return l, nil
	case errors.Is(err, store.ErrCodeTaken):
		// Promoted meanwhile (or written): the hot record wins.
		return t.hot.GetLink(ctx, code)
	default:
		return store.Link{Code: code}, err
	}
}

// MaybeCold reports whether a loaded segment's filter may hold code: no
// read, no store call. Segments another origin's mover wrote since this
// origin last listed them are not seen until it does (any cold read of
// their partition, or this origin's next pass).
func (t *Tiering) MaybeCold(code string) bool {
	tr := t.tier.Load()
	return tr != nil && tr.MayHave(code)
}

// EnsureHot promotes code if it is cold, before a PATCH or DELETE; a code
// that is hot or nowhere is left alone (the write then answers as usual).
func (t *Tiering) EnsureHot(ctx context.Context, code string) error {
	l, err := t.hot.GetLink(ctx, code)
	if pr, ok := t.hot.(store.PrimaryReader); ok && errors.Is(err, store.ErrNotFound) && l.Version == 0 {
		l, err = pr.GetLinkPrimary(ctx, code)
	}
	if err == nil || !errors.Is(err, store.ErrNotFound) || l.Version != 0 {
		return nil
	}
	if _, err := t.Lookup(ctx, code); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// CreateLink creates a link unless its code is taken, hot or cold: the
// partition's eviction counter is read, the cold tier checked, and the
// hot create refused if the counter moved meanwhile (then it all runs
// again).
func (t *Tiering) CreateLink(ctx context.Context, nl store.NewLink) (store.Link, error) {
	if !keys.ValidCode(nl.Code) {
		return t.hot.CreateLink(ctx, nl) // the store words the refusal
	}
	p := t.hot.Partitions().Partition(keys.KindLink, nl.Code)
	for range 8 {
		ev, err := t.cl.Evictions(ctx, p)
		if err != nil {
			return store.Link{}, err
		}
		if ev > 0 {
			if _, err := t.coldGet(ctx, nl.Code); err == nil {
				return store.Link{}, fmt.Errorf("%w: %s (cold)", store.ErrCodeTaken, nl.Code)
			} else if !errors.Is(err, store.ErrNotFound) {
				return store.Link{}, err
			}
		}
		l, err := t.cl.CreateLinkCold(ctx, nl, ev)
		if !errors.Is(err, store.ErrEvictionsMoved) {
			return l, err
		}
	}
	return store.Link{}, fmt.Errorf("%w: create %s: links of its partition keep moving cold; retry", store.ErrUnavailable, nl.Code)
}

// Stats reports both tiers and the last mover pass.
func (t *Tiering) Stats(ctx context.Context) (store.TierStats, error) {
	var ts store.TierStats
	hs, err := t.cl.HotStats(ctx)
	if err != nil {
		return ts, err
	}
	ts.Hot.Links, ts.Hot.Bytes = hs.Links, hs.Bytes
	if tr := t.tier.Load(); tr != nil {
		cs := tr.Stats()
		ts.Cold.Links, ts.Cold.Bytes, ts.Cold.Segments = cs.Links, cs.Bytes, cs.Segments
	}
	t.mu.Lock()
	ts.LastRun, ts.Mover = t.lastRun, t.last
	t.mu.Unlock()
	return ts, nil
}

// Collectors are the tier's Prometheus metrics, for the origin to register.
func (t *Tiering) Collectors() []prometheus.Collector { return t.m.all() }
