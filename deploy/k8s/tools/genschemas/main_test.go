package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const committed = "../../schemas/" + DefaultVersion + "-standalone-strict"

// TestCommittedSchemasAreStrict checks every committed schema: each object
// schema with properties refuses unknown ones, and no $ref is left.
func TestCommittedSchemasAreStrict(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(committed, "*.json"))
	if err != nil || len(files) != len(DefaultKinds) {
		t.Fatalf("want %d schemas in %s, found %d (%v)", len(DefaultKinds), committed, len(files), err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		objects := 0
		var walk func(v any, path string)
		walk = func(v any, path string) {
			switch x := v.(type) {
			case map[string]any:
				if _, ok := x["$ref"]; ok {
					t.Errorf("%s: $ref left at %s", f, path)
				}
				if _, ok := x["properties"]; ok {
					objects++
					if x["additionalProperties"] != false {
						t.Errorf("%s: %s allows unknown properties", f, path)
					}
				}
				for k, c := range x {
					walk(c, path+"/"+k)
				}
			case []any:
				for _, c := range x {
					walk(c, path+"/[]")
				}
			}
		}
		walk(doc, "")
		if objects < 3 {
			t.Errorf("%s: only %d object schemas: not a real Kubernetes schema", f, objects)
		}
	}
}

// TestCommittedSchemasMatchSource regenerates the schemas from the pinned
// Kubernetes OpenAPI document and compares them byte for byte with the
// committed ones. It uses the module cache; with CI=true it downloads the
// module through the Go module proxy when missing, otherwise it skips.
func TestCommittedSchemasMatchSource(t *testing.T) {
	swagger := cachedSwagger(t)
	if swagger == "" {
		if os.Getenv("CI") != "true" {
			t.Skip("k8s.io/kubernetes@" + DefaultVersion + " not in the module cache (set CI=true to download it)")
		}
		p, err := SwaggerPath(DefaultVersion)
		if err != nil {
			t.Fatalf("downloading the OpenAPI spec: %v", err)
		}
		swagger = p
	}
	raw, err := os.ReadFile(swagger)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Generate(raw, DefaultKinds)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(committed, name))
		if err != nil {
			t.Errorf("%s: %v (run: go run ./deploy/k8s/tools/genschemas)", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the generator makes from swagger.json (run: go run ./deploy/k8s/tools/genschemas)", name)
		}
	}
	prov, err := os.ReadFile(filepath.Join(committed, "PROVENANCE"))
	if err != nil || !bytes.Equal(prov, Provenance(DefaultVersion, raw, DefaultKinds)) {
		t.Errorf("PROVENANCE is stale or missing (%v)", err)
	}
}

func cachedSwagger(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOMODCACHE: %v", err)
	}
	p := filepath.Join(strings.TrimSpace(string(out)), "k8s.io", "kubernetes@"+DefaultVersion, "api", "openapi-spec", "swagger.json")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// TestGenerateConversion runs the conversion on a small document.
func TestGenerateConversion(t *testing.T) {
	doc := `{"swagger":"2.0","definitions":{
	  "io.k8s.api.apps.v1.Thing":{"type":"object","required":["spec"],
	    "x-kubernetes-group-version-kind":[{"group":"apps","version":"v1","kind":"Thing"}],
	    "properties":{"apiVersion":{"type":"string"},"kind":{"type":"string"},
	      "spec":{"$ref":"#/definitions/io.k8s.api.apps.v1.ThingSpec"}}},
	  "io.k8s.api.apps.v1.ThingSpec":{"type":"object","required":["name"],"properties":{
	    "name":{"type":"string"},"port":{"$ref":"#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString"},
	    "mem":{"$ref":"#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity"}}},
	  "io.k8s.apimachinery.pkg.util.intstr.IntOrString":{"type":"string","format":"int-or-string"},
	  "io.k8s.apimachinery.pkg.api.resource.Quantity":{"type":"string"},
	  "io.k8s.api.core.v1.Loop":{"type":"object","properties":{"next":{"$ref":"#/definitions/io.k8s.api.core.v1.Loop"}}}
	}}`
	files, err := Generate([]byte(doc), []string{"io.k8s.api.apps.v1.Thing"})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(files["thing-apps-v1.json"], &got); err != nil {
		t.Fatalf("thing-apps-v1.json: %v (files: %v)", err, files)
	}
	want := `{"$schema":"http://json-schema.org/schema#","additionalProperties":false,"properties":{` +
		`"apiVersion":{"enum":["apps/v1"],"type":["string","null"]},` +
		`"kind":{"enum":["Thing"],"type":["string","null"]},` +
		`"spec":{"additionalProperties":false,"properties":{` +
		`"mem":{"oneOf":[{"type":["string","null"]},{"type":["number","null"]}]},` +
		`"name":{"type":"string"},` +
		`"port":{"oneOf":[{"type":["string","null"]},{"type":["integer","null"]}]}},` +
		`"required":["name"],"type":["object","null"]}},` +
		`"required":["spec"],"type":"object","x-kubernetes-group-version-kind":[{"group":"apps","kind":"Thing","version":"v1"}]}`
	gotJSON, _ := json.Marshal(got)
	if string(gotJSON) != want {
		t.Errorf("conversion:\n got %s\nwant %s", gotJSON, want)
	}
	if _, err := Generate([]byte(doc), []string{"io.k8s.api.core.v1.Loop"}); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("a reference cycle must be an error, got %v", err)
	}
	if _, err := Generate([]byte(doc), []string{"io.k8s.api.core.v1.Missing"}); err == nil {
		t.Error("a missing definition must be an error")
	}
	for title, name := range map[string]string{
		"io.k8s.api.apps.v1.Deployment":            "deployment-apps-v1.json",
		"io.k8s.api.core.v1.Service":               "service-v1.json",
		"io.k8s.api.policy.v1.PodDisruptionBudget": "poddisruptionbudget-policy-v1.json",
	} {
		if got := FileName(title); got != name {
			t.Errorf("FileName(%s) = %s, want %s", title, got, name)
		}
	}
}
