package origin_test

import (
	"encoding/json"
	"testing"
)

// TestOpenAPIServed: GET /v1/openapi.json answers the spec as JSON without
// a key (shared/API.md), and other methods on it are 405 with Allow once
// authenticated.
func TestOpenAPIServed(t *testing.T) {
	o := newTestOrigin(t, backends[0])
	r := o.do("GET", "/v1/openapi.json", "", nil)
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /v1/openapi.json: %d %q", r.status, r.header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil || doc.OpenAPI != "3.1.0" || doc.Paths["/v1/openapi.json"] == nil {
		t.Fatalf("the document: %v, openapi %q, %d paths", err, doc.OpenAPI, len(doc.Paths))
	}
	if r := o.admin("POST", "/v1/openapi.json", nil); r.status != 405 || r.header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST /v1/openapi.json: %d Allow %q", r.status, r.header.Get("Allow"))
	}
}
