package docs_test

import (
	"encoding/json"
	"testing"

	"github.com/shortstock/shortstock/docs"
	"github.com/shortstock/shortstock/docs/openapitest"
)

// TestOpenAPIDocument: the embedded spec is valid OpenAPI 3.1 (the
// validator checks it against the 3.1 schema) and converts to the JSON the
// origin serves, with every path kept.
func TestOpenAPIDocument(t *testing.T) {
	if _, err := openapitest.New(); err != nil {
		t.Fatal(err)
	}
	b, err := docs.OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("OpenAPIJSON is not JSON: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	for _, p := range []string{"/v1/links", "/v1/stock/{sku}", "/{code}", "/v1/openapi.json"} {
		if doc.Paths[p] == nil {
			t.Errorf("path %s missing from the JSON", p)
		}
	}
	if ok := doc.Paths["/v1/links"]["post"]; ok == nil {
		t.Error("POST /v1/links missing")
	}
}
