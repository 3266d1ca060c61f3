package edge

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/wire"
)

// fakeOrigin implements the origin's internal API (internal/wire) over a
// map, on a real loopback listener that can be killed and restarted on the
// same address. It stands in for the real origin where a test needs to
// count calls or shape the change log.
type fakeOrigin struct {
	t     testing.TB
	token string
	addr  string
	url   string

	mu      sync.Mutex
	links   map[string]wire.LinkRecord // Version 0 with URL "" is a tombstone
	stocks  map[string]stockRow
	log     [keys.DefaultPartitions][]change.Change
	first   [keys.DefaultPartitions]uint64 // first retained seq (trimming); 0 = from 1
	clicks  map[string]int64
	ttl     time.Duration
	negTTL  time.Duration
	delay   time.Duration // before answering a fetch
	failAll atomic.Bool   // answer 503 to everything

	calls   sync.Map // path prefix -> *atomic.Int64
	srv     *http.Server
	running bool
}

type stockRow struct {
	body    []byte
	version uint64
}

func newFakeOrigin(t testing.TB) *fakeOrigin {
	t.Helper()
	o := &fakeOrigin{t: t, links: map[string]wire.LinkRecord{}, stocks: map[string]stockRow{}, clicks: map[string]int64{}, ttl: time.Minute, negTTL: 5 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.addr = ln.Addr().String()
	o.url = "http://" + o.addr
	o.serve(ln)
	t.Cleanup(o.kill)
	return o
}

func (o *fakeOrigin) serve(ln net.Listener) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.srv = &http.Server{Handler: o, ReadHeaderTimeout: 5 * time.Second}
	o.running = true
	go o.srv.Serve(ln) //nolint:errcheck // Serve's error after Close is expected
}

// kill closes the listener and every connection: the origin is gone.
func (o *fakeOrigin) kill() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.running {
		o.srv.Close()
		o.running = false
	}
}

// restart serves again on the same address.
func (o *fakeOrigin) restart() {
	o.t.Helper()
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", o.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		o.t.Fatalf("restart origin on %s: %v", o.addr, err)
	}
	o.serve(ln)
}

func (o *fakeOrigin) count(prefix string) int64 {
	v, ok := o.calls.Load(prefix)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

func (o *fakeOrigin) bump(prefix string) {
	v, _ := o.calls.LoadOrStore(prefix, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

// appendChange records a write in the key's partition log; call with mu held.
func (o *fakeOrigin) appendChangeLocked(key string, version uint64) change.Change {
	p := keys.DefaultSpace().PartitionOfKey(key)
	seq := uint64(len(o.log[p])) + 1
	c := change.Change{Partition: p, Seq: seq, Key: key, Version: version, AtUnixMs: time.Now().UnixMilli()}
	o.log[p] = append(o.log[p], c)
	return c
}

// putLink creates or updates a link, bumping its version; it returns the change.
func (o *fakeOrigin) putLink(code, url string, redirect int) change.Change {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.links[code]
	r.Code, r.URL, r.Redirect = code, url, redirect
	r.Version++
	o.links[code] = r
	return o.appendChangeLocked(keys.Key(keys.KindLink, code), r.Version)
}

func (o *fakeOrigin) deleteLink(code string) change.Change {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.links[code]
	r.URL = ""
	r.Version++
	o.links[code] = r
	return o.appendChangeLocked(keys.Key(keys.KindLink, code), r.Version)
}

func (o *fakeOrigin) putStock(sku string, available int) change.Change {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.stocks[sku]
	r.version++
	r.body, _ = json.Marshal(map[string]any{"sku": sku, "available": available, "version": r.version, "warehouses": map[string]any{"w1": map[string]int{"on_hand": available, "reserved": 0, "available": available}}})
	r.body = append(r.body, '\n')
	o.stocks[sku] = r
	return o.appendChangeLocked(keys.Key(keys.KindStock, sku), r.version)
}

// trim forgets the log of partition p up to and including seq.
func (o *fakeOrigin) trim(p int, upto uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.first[p] = upto + 1
}

func (o *fakeOrigin) clickCount(code string) int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.clicks[code]
}

func (o *fakeOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if o.token != "" && r.Header.Get("Authorization") != "Bearer "+o.token {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if o.failAll.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	path := r.URL.Path
	if mv := r.URL.Query().Get(wire.QueryMinVersion); mv != "" {
		o.bump(wire.QueryMinVersion + "=" + mv)
	}
	switch {
	case strings.HasPrefix(path, wire.PathLinks) && r.Method == http.MethodGet:
		o.bump(wire.PathLinks)
		o.bump(path)
		time.Sleep(o.delay)
		code := strings.TrimPrefix(path, wire.PathLinks)
		o.mu.Lock()
		rec, ok := o.links[code]
		o.mu.Unlock()
		if !ok || rec.URL == "" {
			o.missing(w, rec.Version)
			return
		}
		o.found(w, rec.Version, rec)
	case strings.HasPrefix(path, wire.PathStock) && r.Method == http.MethodGet:
		o.bump(wire.PathStock)
		o.bump(path)
		time.Sleep(o.delay)
		sku := strings.TrimPrefix(path, wire.PathStock)
		o.mu.Lock()
		row, ok := o.stocks[sku]
		o.mu.Unlock()
		if !ok {
			o.missing(w, 0)
			return
		}
		o.headers(w, row.version, o.ttl)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write(row.body)
	case path == wire.PathClicks && r.Method == http.MethodPost:
		o.bump(wire.PathClicks)
		var b wire.ClickBatch
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		o.mu.Lock()
		for k, n := range b.Counts {
			o.clicks[k] += n
		}
		o.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case path == wire.PathHeads && r.Method == http.MethodGet:
		o.bump(wire.PathHeads)
		o.mu.Lock()
		h := wire.Heads{Heads: make([]uint64, keys.DefaultPartitions)}
		for p := range o.log {
			h.Heads[p] = uint64(len(o.log[p]))
		}
		o.mu.Unlock()
		writeJSON(w, http.StatusOK, h)
	case path == wire.PathChanges && r.Method == http.MethodGet:
		o.bump(wire.PathChanges)
		q := r.URL.Query()
		p, err1 := strconv.Atoi(q.Get("partition"))
		after, err2 := strconv.ParseUint(q.Get("after"), 10, 64)
		limit, err3 := strconv.Atoi(q.Get("limit"))
		if err1 != nil || err2 != nil || err3 != nil || p < 0 || p >= keys.DefaultPartitions {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		o.mu.Lock()
		pg := change.Page{Partition: p, Head: uint64(len(o.log[p])), First: max(o.first[p], 1), Changes: []change.Change{}}
		for _, c := range o.log[p] {
			if c.Seq > after && c.Seq >= pg.First && len(pg.Changes) < limit {
				pg.Changes = append(pg.Changes, c)
			}
		}
		o.mu.Unlock()
		writeJSON(w, http.StatusOK, pg)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func (o *fakeOrigin) headers(w http.ResponseWriter, version uint64, ttl time.Duration) {
	w.Header().Set(wire.HeaderVersion, strconv.FormatUint(version, 10))
	w.Header().Set(wire.HeaderTTL, strconv.FormatInt(ttl.Milliseconds(), 10))
}

func (o *fakeOrigin) missing(w http.ResponseWriter, version uint64) {
	o.headers(w, version, o.negTTL)
	writeJSON(w, http.StatusNotFound, wire.Missing{Error: "not_found", Version: version})
}

func (o *fakeOrigin) found(w http.ResponseWriter, version uint64, v any) {
	o.headers(w, version, o.ttl)
	writeJSON(w, http.StatusOK, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client hung up
}
