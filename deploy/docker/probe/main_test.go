package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestProbe(t *testing.T) {
	var ready atomic.Bool
	ready.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/_/readyz" && ready.Load():
			w.WriteHeader(http.StatusOK)
		case r.URL.Path == "/_/readyz":
			w.WriteHeader(http.StatusServiceUnavailable)
		case r.URL.Path == "/slow":
			time.Sleep(300 * time.Millisecond)
		default:
			http.Redirect(w, r, "/_/readyz", http.StatusFound)
		}
	}))
	defer srv.Close()

	cases := []struct {
		name string
		args []string
		want int
		msg  string
	}{
		{"ready", []string{srv.URL + "/_/readyz"}, 0, ""},
		{"redirect is not followed", []string{srv.URL + "/elsewhere"}, 1, "302"},
		{"timeout", []string{"-timeout", "50ms", srv.URL + "/slow"}, 1, "deadline"},
		{"not loopback", []string{"http://192.0.2.1:8080/_/readyz"}, 1, "loopback"},
		{"not http", []string{"https://127.0.0.1:8080/"}, 1, "http://"},
		{"no url", nil, 2, "usage"},
		{"refused", []string{"http://127.0.0.1:1/_/readyz"}, 1, "refused"},
	}
	for _, c := range cases {
		var stderr strings.Builder
		if got := run(c.args, &stderr); got != c.want || !strings.Contains(stderr.String(), c.msg) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d mentioning %q", c.name, got, stderr.String(), c.want, c.msg)
		}
	}
	ready.Store(false)
	if got := run([]string{srv.URL + "/_/readyz"}, io.Discard); got != 1 {
		t.Errorf("503 must fail the probe, exit %d", got)
	}
}
