package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

const adminKey = "faults-admin-key-0123456789"

// gossipKey is the pool key of every test topology here (32 bytes).
var gossipKey = []byte("faults-gossip-key-0123456789abcd")

// clusterSecret is every node's --cluster-secret (the internal API token is
// derived from it, not from the gossip key).
const clusterSecret = "faults-cluster-secret-0123456789abcdef"

// commonEnv is what every shortstock process of the suite gets: the admin
// key, quiet logs, and no admin rate limits (the reservation test sends
// thousands of requests from one key and one IP on purpose; unknown
// variables are ignored by binaries without those flags).
func commonEnv() []string {
	return []string{
		"SHORTSTOCK_ADMIN_KEY=" + adminKey,
		"SHORTSTOCK_CLUSTER_SECRET=" + clusterSecret,
		"SHORTSTOCK_LOG_LEVEL=warn",
		"SHORTSTOCK_KEY_RATE=0",
		"SHORTSTOCK_IP_RATE=0",
	}
}

// admin talks to an origin's admin API.
type admin struct {
	base string
	http *http.Client
}

func newAdmin(t testing.TB, base string, timeout time.Duration) *admin {
	tr := &http.Transport{MaxIdleConnsPerHost: 128, MaxConnsPerHost: 256}
	t.Cleanup(tr.CloseIdleConnections)
	return &admin{base: base, http: &http.Client{Timeout: timeout, Transport: tr}}
}

// answer is one HTTP exchange's outcome.
type answer struct {
	status int
	body   []byte
	header http.Header
}

func (a answer) json(v any) error { return json.Unmarshal(a.body, v) }

// errorCode is the "error" field of an error body.
func (a answer) errorCode() string {
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(a.body, &e)
	return e.Error
}

// do sends one request; err is a transport failure (refused, reset,
// timeout), where the outcome on the server is unknown.
func (a *admin) do(ctx context.Context, method, path, body string, hdr ...string) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, strings.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := a.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: res.StatusCode, body: b, header: res.Header}, nil
}

// must sends a request that has to succeed now (set-up and audit, with no
// fault running); it retries transport errors and 5xx for a while.
func (a *admin) must(t testing.TB, method, path, body string) answer {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ans, err := a.do(context.Background(), method, path, body)
		if err == nil && ans.status < 300 {
			return ans
		}
		if time.Now().After(deadline) || (err == nil && ans.status < 500 && ans.status != http.StatusTooManyRequests) {
			t.Fatalf("%s %s: %d %s (err %v)", method, path, ans.status, ans.body, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// version reads the "version" field of a link or stock view answer.
func (a answer) version() uint64 {
	var v struct {
		Version uint64 `json:"version"`
	}
	_ = json.Unmarshal(a.body, &v)
	return v.Version
}

// edgeRead is one GET through an edge.
type edgeRead struct {
	status  int
	version uint64 // X-Version, 0 when absent
	cache   string // X-Cache
	took    time.Duration
	err     error
}

// noRedirect reads answers as they are: a 302 is the result, not a hop.
var noRedirect = &http.Client{
	Timeout:       5 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{MaxIdleConnsPerHost: 64},
}

func readEdge(edgeURL, path string) edgeRead {
	start := time.Now()
	res, err := noRedirect.Get(edgeURL + path)
	if err != nil {
		return edgeRead{err: err, took: time.Since(start)}
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	r := edgeRead{status: res.StatusCode, cache: res.Header.Get("X-Cache"), took: time.Since(start)}
	if v, err := strconv.ParseUint(res.Header.Get("X-Version"), 10, 64); err == nil {
		r.version = v
	}
	return r
}

// served reports whether r is an answer for an existing key (a redirect
// or a stock view).
func (r edgeRead) served() bool {
	return r.err == nil && (r.status == http.StatusOK || r.status/100 == 3)
}

func (r edgeRead) String() string {
	if r.err != nil {
		return fmt.Sprintf("error %v after %v", r.err, r.took)
	}
	return fmt.Sprintf("%d X-Cache=%s X-Version=%d in %v", r.status, r.cache, r.version, r.took)
}

// jsonBody marshals v for a request body.
func jsonBody(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(bytes.TrimSpace(b))
}
