package obs

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/shortstock/shortstock/internal/testutil"
)

func TestMain(m *testing.M) {
	testutil.VerifyNoLeaks(m, nil)
}

func TestName(t *testing.T) {
	if got := Name("edge", "answers_total"); got != "shortstock_edge_answers_total" {
		t.Fatalf("Name = %q", got)
	}
}

// scrape reads what the handler serves and checks it holds the runtime
// collectors and a metric of ours.
func checkExposition(t *testing.T, body string) {
	t.Helper()
	for _, want := range []string{"go_goroutines ", "process_start_time_seconds ", "shortstock_test_things_total 1"} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

func testRegistry(t *testing.T) prometheus.Gatherer {
	reg, gat := Defaults(nil, nil)
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: Name("test", "things_total"), Help: "Things."})
	reg.MustRegister(c)
	c.Inc()
	return gat
}

func TestHandlerServesRuntimeAndOwnMetrics(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler(testRegistry(t)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	checkExposition(t, rec.Body.String())
}

func TestFastHandlerServesTheSame(t *testing.T) {
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: FastHandler(testRegistry(t))}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	defer func() {
		if err := srv.Shutdown(); err != nil {
			t.Error(err)
		}
		<-done
	}()
	conn, err := ln.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "HTTP/1.1 200") {
		t.Fatalf("answer %.60q", b)
	}
	checkExposition(t, string(b))
}

func TestDefaultsKeepsWhatIsSet(t *testing.T) {
	own := prometheus.NewRegistry()
	reg, gat := Defaults(own, nil)
	if reg != own || gat != prometheus.DefaultGatherer {
		t.Fatal("a set Registerer was replaced, or the Gatherer is not the default one")
	}
	reg, gat = Defaults(nil, own)
	if reg == nil || gat != own {
		t.Fatal("a set Gatherer was replaced")
	}
}
