package tiering_test

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/redis/go-redis/v9"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/s3blob"

	"github.com/shortstock/shortstock/internal/redistest"
	"github.com/shortstock/shortstock/internal/testutil"
	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

var env *redistest.Env

func TestMain(m *testing.M) {
	redis.SetLogger(quietLogger{})
	flag.Parse()
	env = redistest.Start(redistest.Options{Standalone: true})
	testutil.VerifyNoLeaks(m, func() {
		if err := env.Stop(); err != nil {
			log.Printf("stopping redis: %v", err)
		}
	})
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// hot is a hot store that can be "crashed" (closed without cleanup) and
// opened again on the same data.
type hot struct {
	name   string
	dir    string // embedded
	prefix string // redis key prefix
	open   func(t *testing.T) store.Store
}

var prefixSeq atomic.Int64

// logRetention, when set, is the hot stores' change log retention (the
// measurement's: see trimLog).
var logRetention time.Duration

func hotStores(t *testing.T) []hot {
	dir := t.TempDir()
	prefix := fmt.Sprintf("tier%d-%d", time.Now().UnixNano()%1e9, prefixSeq.Add(1))
	return []hot{
		{"embedded", dir, "", func(t *testing.T) store.Store {
			cfg := embedded.DefaultConfig(dir)
			cfg.NoSync = true
			if logRetention > 0 {
				cfg.ChangeLogMaxAge = logRetention
			}
			s, err := embedded.Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}},
		{"redis", "", prefix, func(t *testing.T) store.Store {
			cfg := redisstore.DefaultConfig([]string{env.Standalone(t)})
			cfg.KeyPrefix = prefix
			cfg.ReadTimeout, cfg.WriteTimeout = 5*time.Second, 5*time.Second
			cfg.Logger = quietLog()
			if logRetention > 0 {
				cfg.ChangeStreamMaxAge = logRetention
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := redisstore.New(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}},
	}
}

// cold is an object store: the file backend or a real S3 protocol server
// (gofakes3 on 127.0.0.1) through gocloud.dev/blob/s3blob.
type cold struct {
	name string
	// open returns the bucket (closed when t ends) and, for S3, a func
	// that takes the server down.
	open func(t *testing.T) (*blob.Bucket, func())
}

func coldStores(t *testing.T) []cold {
	dir := t.TempDir()
	var s3url string
	var srv *httptest.Server
	return []cold{
		{"file", func(t *testing.T) (*blob.Bucket, func()) {
			b, err := fileblob.OpenBucket(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return b, nil
		}},
		{"s3", func(t *testing.T) (*blob.Bucket, func()) {
			if srv == nil {
				be := s3mem.New()
				if err := be.CreateBucket("cold"); err != nil {
					t.Fatal(err)
				}
				srv = httptest.NewServer(gofakes3.New(be, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
				t.Cleanup(srv.Close)
				s3url = "s3://cold?" + url.Values{
					"endpoint": {srv.URL}, "region": {"us-east-1"}, "use_path_style": {"true"},
					"anonymous": {"true"},
				}.Encode()
			}
			b, err := blob.OpenBucket(context.Background(), s3url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return b, srv.Close
		}},
	}
}

// matrix runs f on every hot store with every cold store, each subtest
// on fresh ones.
func matrix(t *testing.T, f func(t *testing.T, h hot, c cold)) {
	for _, hn := range []string{"embedded", "redis"} {
		for _, cn := range []string{"file", "s3"} {
			t.Run(hn+"-"+cn, func(t *testing.T) {
				var h hot
				for _, x := range hotStores(t) {
					if x.name == hn {
						h = x
					}
				}
				var c cold
				for _, x := range coldStores(t) {
					if x.name == cn {
						c = x
					}
				}
				f(t, h, c)
			})
		}
	}
}
