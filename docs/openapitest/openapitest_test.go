package openapitest

import (
	"net/http"
	"testing"
)

// TestCheckTakesAnyMethod: an exchange whose method net/http refuses (the
// edge's FuzzHandler sends any bytes) is checked, not a panic: a 405 with
// Allow is a refusal any path may give, a 200 to it is undocumented.
func TestCheckTakesAnyMethod(t *testing.T) {
	c := Shared(t)
	refused := Exchange{
		Method: " ", Path: "/0", Header: http.Header{},
		Status: http.StatusMethodNotAllowed, RespHeader: http.Header{"Allow": {"GET, HEAD"}, "Content-Type": {"application/json"}},
		RespBody: []byte(`{"error":"method_not_allowed","message":"use GET or HEAD"}`),
	}
	if v := c.Check(refused); len(v) != 0 {
		t.Fatalf("a 405 with Allow to a bad method: %v", v)
	}
	answered := refused
	answered.Status, answered.RespHeader, answered.RespBody = http.StatusOK, http.Header{}, []byte("{}")
	if v := c.Check(answered); len(v) == 0 {
		t.Fatal("a 200 to a method no operation has passed the check")
	}
}

// TestCheckRefusesUndocumented: the checker is not a rubber stamp: an
// undocumented status of a documented route fails, a documented one passes.
func TestCheckRefusesUndocumented(t *testing.T) {
	c := Shared(t)
	x := Exchange{Method: "GET", Path: "/robots.txt", Header: http.Header{}, Status: http.StatusTeapot, RespHeader: http.Header{}, RespBody: []byte("x")}
	if v := c.Check(x); len(v) == 0 {
		t.Fatal("GET /robots.txt answering 418 passed the check")
	}
}
