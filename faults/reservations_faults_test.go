package faults

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/redistest"
)

// originProc runs the real origin on a fixed address, so it can be
// kill -9ed and started again where clients expect it. Only the test
// goroutine touches it.
type originProc struct {
	t     *testing.T
	addr  string
	env   []string
	args  []string
	cur   *proc
	kills int
}

func (o *originProc) url() string { return "http://" + o.addr }

func (o *originProc) start() { o.cur = startProc(o.t, "origin", o.env, o.args...) }

// kill is kill -9: whatever was in flight is lost mid-way.
func (o *originProc) kill() {
	o.cur.kill()
	o.kills++
}

// ready polls /_/readyz (storage reachable) and returns an error rather
// than failing the test, so a fault that keeps the origin down is reported
// with the figures instead of hiding them.
func ready(url string, timeout time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if r, err := c.Get(url + "/_/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %v", url, timeout)
}

type faultKind int

const (
	killOrigin faultKind = iota
	restartRedis
	killBoth
)

func (k faultKind) String() string {
	return [...]string{"kill -9 origin", "restart redis", "kill -9 origin and redis"}[k]
}

// injector fires faults on the test goroutine while the workers run.
type injector struct {
	origin        *originProc
	redis         *redistest.Server
	redisRestarts int
	log           []string
	errs          []error
}

func (in *injector) fire(k faultKind) {
	start := time.Now()
	switch k {
	case killOrigin:
		in.origin.kill()
		time.Sleep(200 * time.Millisecond) // clients meet a refused port, not only reset connections
		in.origin.start()
	case restartRedis:
		in.restartRedis()
	case killBoth:
		in.origin.kill()
		in.restartRedis()
		in.origin.start()
	}
	err := ready(in.origin.url(), 30*time.Second)
	in.log = append(in.log, fmt.Sprintf("%s: ready again after %v", k, time.Since(start).Round(time.Millisecond)))
	if err != nil {
		in.errs = append(in.errs, fmt.Errorf("after %s: %w\n%s", k, err, in.origin.cur.logs.tail(20)))
	}
}

// restartRedis is a crash (SIGKILL) and a restart from the AOF, with a
// pause in between in which the origin can reach no storage at all.
func (in *injector) restartRedis() {
	if err := in.redis.Kill(); err != nil {
		in.errs = append(in.errs, err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := in.redis.Restart(); err != nil {
		in.errs = append(in.errs, fmt.Errorf("redis restart: %w", err))
	}
	in.redisRestarts++
}

// scheduled is a fault and the fraction of the workflows done at which it
// fires, so each lands mid-run whatever the machine's speed.
type scheduled struct {
	at   float64
	kind faultKind
}

func faultSchedule() []scheduled {
	if !long() {
		return []scheduled{{0.3, killOrigin}, {0.6, restartRedis}}
	}
	return []scheduled{
		{0.1, killOrigin}, {0.25, restartRedis}, {0.4, killOrigin},
		{0.55, killBoth}, {0.7, restartRedis}, {0.85, killOrigin},
	}
}
