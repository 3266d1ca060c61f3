package bench

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// adminCall is one admin API request: a reusable request and response and
// the Authorization header, for a worker or a seeding goroutine.
type adminCall struct {
	auth []byte // "Bearer KEY"
	req  fasthttp.Request
	resp fasthttp.Response
}

func newAdminCall(adminKey string) *adminCall {
	return &adminCall{auth: []byte("Bearer " + adminKey)}
}

// do sends method path with an optional JSON body (and Idempotency-Key)
// to h and returns the answer's status; the body stays in c.resp.
func (c *adminCall) do(h *host, method, path string, body []byte, idemKey string, deadline time.Time) (int, error) {
	c.req.Reset()
	c.req.Header.SetMethod(method)
	c.req.SetRequestURI(path)
	c.req.Header.SetBytesV("Authorization", c.auth)
	if body != nil {
		c.req.Header.SetContentType("application/json")
		c.req.SetBodyRaw(body)
	}
	if idemKey != "" {
		c.req.Header.Set("Idempotency-Key", idemKey)
	}
	if err := h.do(&c.req, &c.resp, deadline); err != nil {
		return 0, err
	}
	return c.resp.StatusCode(), nil
}

// decode unmarshals the last answer's body into v.
func (c *adminCall) decode(v any) error {
	if err := json.Unmarshal(c.resp.Body(), v); err != nil {
		return fmt.Errorf("decoding %.200q: %w", c.resp.Body(), err)
	}
	return nil
}

// expect calls and fails unless the answer's status is one of want. A 429
// (an origin's admin rate limit: seeding a topology that was not started
// for benchmarking) is retried after its Retry-After, until deadline.
func (c *adminCall) expect(h *host, method, path string, body []byte, deadline time.Time, want ...int) (int, error) {
	st, err := c.do(h, method, path, body, "", deadline)
	for err == nil && st == http.StatusTooManyRequests {
		wait := time.Second
		if s, perr := strconv.Atoi(string(c.resp.Header.Peek("Retry-After"))); perr == nil && s > 0 {
			wait = time.Duration(s) * time.Second
		}
		if time.Now().Add(wait).After(deadline) {
			break
		}
		time.Sleep(wait)
		st, err = c.do(h, method, path, body, "", deadline)
	}
	if err != nil {
		return 0, fmt.Errorf("%s %s%s: %w", method, h.base, path, err)
	}
	for _, w := range want {
		if st == w {
			return st, nil
		}
	}
	return st, fmt.Errorf("%s %s%s: status %d: %.200s", method, h.base, path, st, c.resp.Body())
}
