package origin

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/shortstock/shortstock/docs"
	"github.com/shortstock/shortstock/origin/embedded"
)

// specOps reads docs/openapi.yaml's operations: "METHOD /path" -> tags.
func specOps(t *testing.T) map[string][]string {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(docs.OpenAPIYAML, &doc); err != nil {
		t.Fatal(err)
	}
	ops := map[string][]string{}
	for path, item := range doc.Paths {
		for method, op := range item {
			switch method {
			case "get", "put", "post", "patch", "delete", "head", "options":
				var tags []string
				if m, ok := op.(map[string]any); ok {
					if list, ok := m["tags"].([]any); ok {
						for _, tg := range list {
							tags = append(tags, fmt.Sprint(tg))
						}
					}
				}
				ops[strings.ToUpper(method)+" "+path] = tags
			}
		}
	}
	return ops
}

// TestEveryRouteIsInTheSpec: every public route the origin registers is
// documented in docs/openapi.yaml, and every origin operation the spec
// documents is served. A route added without its spec fails here by name
// (the spec's validator then checks its answers in every API test).
func TestEveryRouteIsInTheSpec(t *testing.T) {
	st, err := embedded.Open(embedded.DefaultConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := DefaultConfig()
	cfg.Store, cfg.AdminKeys = st, []string{"test-admin-key-0123456789"}
	cfg.ClusterToken = "route-test-cluster-token-0123456789abcdef"
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ops := specOps(t)
	for _, p := range s.patterns {
		if _, ok := ops[p]; !ok {
			t.Errorf("route %q is not in docs/openapi.yaml: add its path, method, every status it answers and its bodies", p)
		}
	}
	for op, tags := range ops {
		if strings.HasPrefix(op, "HEAD ") || slices.Equal(tags, []string{"edge"}) {
			continue // net/http answers HEAD for GET; edge-only operations
		}
		if !slices.Contains(s.patterns, op) {
			t.Errorf("docs/openapi.yaml documents %q but the origin has no such route (tag it edge if only the edge serves it)", op)
		}
	}
}
