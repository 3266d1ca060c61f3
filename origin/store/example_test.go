package store_test

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/shortstock/shortstock/origin/store"
)

// ValidateURL is the syntax every stored link target passes, whatever the
// backend: absolute http(s) URLs with a host, no credentials.
func ExampleValidateURL() {
	for _, raw := range []string{"https://example.com/page", "ftp://example.com/", "https://user:pw@example.com/"} {
		ok, why := store.ValidateURL(raw)
		fmt.Println(ok, why != "")
	}
	// Output:
	// true false
	// false true
	// false true
}

// ParseTargetHost reads a host as a browser would: every IPv4 notation is
// an address.
func ExampleParseTargetHost() {
	for _, raw := range []string{"http://0x7f.1/", "https://Bücher.Example/"} {
		u, _ := url.Parse(raw)
		h, err := store.ParseTargetHost(u)
		fmt.Println(h.ASCII, h.Unicode, h.IP.IsValid(), err)
	}
	// Output:
	// 127.0.0.1 127.0.0.1 true <nil>
	// xn--bcher-kva.example bücher.example false <nil>
}

// Callers check a backend's errors with errors.Is against the sentinels.
func ExampleErrNotFound() {
	err := fmt.Errorf("get link abc: %w", store.ErrNotFound)
	fmt.Println(errors.Is(err, store.ErrNotFound))
	// Output: true
}
