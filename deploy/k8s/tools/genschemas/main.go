// Command genschemas writes the strict, stand-alone JSON schemas that
// deploy/check.sh gives kubeconform, so validation needs no network.
//
// It reads the Kubernetes OpenAPI v2 document (api/openapi-spec/swagger.json
// of the Go module k8s.io/kubernetes, fetched through the Go module proxy
// with `go mod download`) and converts the definitions of the kinds listed
// in -kinds the way the openapi2jsonschema tool does with
// `--expanded --kubernetes --stand-alone --strict` (the flavour kubeconform
// reads by default):
//
//   - IntOrString becomes oneOf string|integer, Quantity oneOf string|number;
//   - apiVersion and kind get an enum from x-kubernetes-group-version-kind;
//   - every object schema with properties gets additionalProperties: false
//     (the "strict" part: unknown fields are errors);
//   - every $ref is replaced by a copy of its target (stand-alone files);
//   - a field not listed in its object's "required" also accepts null.
//
// Output files are named as kubeconform looks them up:
// <kind>-<group>-<version>.json, or <kind>-<version>.json for the core group,
// in <out>/v<version>-standalone-strict/. A PROVENANCE file records the
// module version and the SHA-256 of the swagger.json that was read, and the
// generator test regenerates the files and compares them byte for byte.
//
// Usage (from the repository root):
//
//	go run ./deploy/k8s/tools/genschemas                 # default version and kinds
//	go run ./deploy/k8s/tools/genschemas -swagger FILE   # an already downloaded spec
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// DefaultVersion is the Kubernetes release the committed schemas come from:
// the oldest minor release still supported when they were generated, so
// manifests that pass here also pass on every newer supported release.
const DefaultVersion = "v1.35.4"

// DefaultKinds are the definitions the manifests use, and no others.
var DefaultKinds = []string{
	"io.k8s.api.apps.v1.Deployment",
	"io.k8s.api.core.v1.ConfigMap",
	"io.k8s.api.core.v1.Namespace",
	"io.k8s.api.core.v1.Secret",
	"io.k8s.api.core.v1.Service",
	"io.k8s.api.policy.v1.PodDisruptionBudget",
}

const (
	intOrString = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
	quantity    = "io.k8s.apimachinery.pkg.api.resource.Quantity"
	refPrefix   = "#/definitions/"
)

func main() {
	version := flag.String("version", DefaultVersion, "k8s.io/kubernetes module version to read the OpenAPI spec from")
	swagger := flag.String("swagger", "", "path of swagger.json (default: downloaded with 'go mod download k8s.io/kubernetes@VERSION')")
	out := flag.String("out", "deploy/k8s/schemas", "directory that receives <version>-standalone-strict/")
	kinds := flag.String("kinds", strings.Join(DefaultKinds, ","), "comma-separated OpenAPI definition names to convert")
	flag.Parse()
	if err := run(*version, *swagger, *out, strings.Split(*kinds, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "genschemas:", err)
		os.Exit(1)
	}
}

func run(version, swagger, out string, kinds []string) error {
	if swagger == "" {
		p, err := SwaggerPath(version)
		if err != nil {
			return err
		}
		swagger = p
	}
	raw, err := os.ReadFile(swagger)
	if err != nil {
		return err
	}
	files, err := Generate(raw, kinds)
	if err != nil {
		return err
	}
	dir := filepath.Join(out, version+"-standalone-strict")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	prov := Provenance(version, raw, kinds)
	if err := os.WriteFile(filepath.Join(dir, "PROVENANCE"), prov, 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %d schemas to %s\n", len(files), dir)
	return nil
}

// SwaggerPath downloads (or finds in the module cache) k8s.io/kubernetes at
// version and returns the path of its api/openapi-spec/swagger.json. It runs
// outside any module so the caller's go.mod is never touched.
func SwaggerPath(version string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", "k8s.io/kubernetes@"+version)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download k8s.io/kubernetes@%s: %v\n%s%s", version, err, outb, stderr.Bytes())
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(outb, &m); err != nil {
		return "", fmt.Errorf("go mod download: %v", err)
	}
	if m.Error != "" || m.Dir == "" {
		return "", fmt.Errorf("go mod download k8s.io/kubernetes@%s: %s", version, m.Error)
	}
	return filepath.Join(m.Dir, "api", "openapi-spec", "swagger.json"), nil
}

// Provenance is the text of the PROVENANCE file.
func Provenance(version string, swagger []byte, kinds []string) []byte {
	sum := sha256.Sum256(swagger)
	var b strings.Builder
	fmt.Fprintf(&b, "source: Go module k8s.io/kubernetes@%s, file api/openapi-spec/swagger.json\n", version)
	fmt.Fprintf(&b, "sha256: %s\n", hex.EncodeToString(sum[:]))
	fmt.Fprintf(&b, "generator: go run ./deploy/k8s/tools/genschemas -version %s\n", version)
	fmt.Fprintf(&b, "conversion: openapi2jsonschema --expanded --kubernetes --stand-alone --strict equivalent\n")
	fmt.Fprintf(&b, "definitions:\n")
	for _, k := range kinds {
		fmt.Fprintf(&b, "  %s\n", k)
	}
	return []byte(b.String())
}

// Generate converts the named definitions of an OpenAPI v2 document into
// stand-alone strict JSON schemas, keyed by kubeconform's file name.
func Generate(swagger []byte, kinds []string) (map[string][]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(swagger))
	dec.UseNumber()
	var doc struct {
		Swagger     string         `json:"swagger"`
		Definitions map[string]any `json:"definitions"`
	}
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("parsing OpenAPI document: %w", err)
	}
	if !strings.HasPrefix(doc.Swagger, "2.") || len(doc.Definitions) == 0 {
		return nil, errors.New("not an OpenAPI v2 document with definitions")
	}
	defs := doc.Definitions
	kubernetesProcessors(defs)
	for _, d := range defs {
		strict(d)
	}

	files := map[string][]byte{}
	for _, title := range kinds {
		title = strings.TrimSpace(title)
		def, ok := defs[title].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("definition %q not in the OpenAPI document", title)
		}
		spec := deepCopy(def).(map[string]any)
		spec["$schema"] = "http://json-schema.org/schema#"
		if _, ok := spec["type"]; !ok {
			spec["type"] = "object"
		}
		spec["additionalProperties"] = false
		resolved, err := deref(spec, defs, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", title, err)
		}
		spec = resolved.(map[string]any)
		if props, ok := spec["properties"].(map[string]any); ok {
			spec["properties"] = allowNullOptional(replaceIntOrString(props), nil, nil, "")
		}
		data, err := json.MarshalIndent(spec, "", "  ")
		if err != nil {
			return nil, err
		}
		files[FileName(title)] = append(data, '\n')
	}
	return files, nil
}

// FileName is kubeconform's name for a definition: io.k8s.api.apps.v1.Deployment
// is deployment-apps-v1.json, io.k8s.api.core.v1.Service is service-v1.json.
func FileName(title string) string {
	parts := strings.Split(title, ".")
	kind := strings.ToLower(parts[len(parts)-1])
	version := strings.ToLower(parts[len(parts)-2])
	group := strings.ToLower(parts[len(parts)-3])
	if group == "core" || group == "api" {
		return kind + "-" + version + ".json"
	}
	return kind + "-" + group + "-" + version + ".json"
}

// kubernetesProcessors applies openapi2jsonschema's --kubernetes changes to
// the shared definitions.
func kubernetesProcessors(defs map[string]any) {
	defs[intOrString] = map[string]any{"oneOf": []any{
		map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
	// Kubernetes tooling accepts numbers for quantities (cpu: 1).
	defs[quantity] = map[string]any{"oneOf": []any{
		map[string]any{"type": "string"}, map[string]any{"type": "number"}}}
	names := make([]string, 0, len(defs))
	for n := range defs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		def, ok := defs[n].(map[string]any)
		if !ok {
			continue
		}
		gvks, ok := def["x-kubernetes-group-version-kind"].([]any)
		if !ok {
			continue
		}
		props, _ := def["properties"].(map[string]any)
		for _, g := range gvks {
			gvk, _ := g.(map[string]any)
			group, _ := gvk["group"].(string)
			version, _ := gvk["version"].(string)
			kind, _ := gvk["kind"].(string)
			if av, ok := props["apiVersion"].(map[string]any); ok {
				apiVersion := version
				if group != "" {
					apiVersion = group + "/" + version
				}
				appendEnum(av, apiVersion)
			}
			if k, ok := props["kind"].(map[string]any); ok {
				appendEnum(k, kind)
			}
		}
	}
}

func appendEnum(m map[string]any, v string) {
	enum, _ := m["enum"].([]any)
	for _, e := range enum {
		if e == v {
			return
		}
	}
	m["enum"] = append(enum, v)
}

// strict sets additionalProperties: false on every object schema that lists
// properties and says nothing about additional ones.
func strict(v any) {
	switch t := v.(type) {
	case map[string]any:
		if _, ok := t["properties"]; ok {
			if _, set := t["additionalProperties"]; !set {
				t["additionalProperties"] = false
			}
		}
		for _, c := range t {
			strict(c)
		}
	case []any:
		for _, c := range t {
			strict(c)
		}
	}
}

// deref replaces every {"$ref": "#/definitions/X"} by a resolved copy of X
// (like jsonref: the referencing object, description included, is
// replaced). A reference cycle is an error: no kind we convert has one.
func deref(v any, defs map[string]any, stack []string) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		if ref, ok := t["$ref"].(string); ok {
			name, found := strings.CutPrefix(ref, refPrefix)
			if !found {
				return nil, fmt.Errorf("unsupported $ref %q", ref)
			}
			for _, s := range stack {
				if s == name {
					return nil, fmt.Errorf("reference cycle through %s", name)
				}
			}
			target, ok := defs[name]
			if !ok {
				return nil, fmt.Errorf("dangling $ref %q", ref)
			}
			return deref(deepCopy(target), defs, append(stack, name))
		}
		out := make(map[string]any, len(t))
		for k, c := range t {
			r, err := deref(c, defs, stack)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, c := range t {
			r, err := deref(c, defs, stack)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

// replaceIntOrString turns an inline int-or-string format into the oneOf
// the IntOrString definition became.
func replaceIntOrString(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch t := v.(type) {
		case map[string]any:
			if t["format"] == "int-or-string" {
				out[k] = map[string]any{"oneOf": []any{
					map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
			} else {
				out[k] = replaceIntOrString(t)
			}
		case []any:
			l := make([]any, len(t))
			for i, x := range t {
				if xm, ok := x.(map[string]any); ok {
					l[i] = replaceIntOrString(xm)
				} else {
					l[i] = x
				}
			}
			out[k] = l
		default:
			out[k] = v
		}
	}
	return out
}

// allowNullOptional makes "type": T into ["T", "null"] unless the field is
// listed in the "required" of the object that holds it (openapi2jsonschema's
// allow_null_optional_fields: data is a map, parent the map or list holding
// it, grand the one above, key data's name in parent).
func allowNullOptional(data map[string]any, parent, grand any, key string) map[string]any {
	out := make(map[string]any, len(data))
	for k, v := range data {
		switch t := v.(type) {
		case map[string]any:
			out[k] = allowNullOptional(t, data, parent, k)
		case []any:
			l := make([]any, len(t))
			for i, x := range t {
				if xm, ok := x.(map[string]any); ok {
					l[i] = allowNullOptional(xm, t, parent, k)
				} else {
					l[i] = x
				}
			}
			out[k] = l
		case string:
			if k == "type" && t != "null" && !requiredIn(grand, key) {
				out[k] = []any{t, "null"}
			} else {
				out[k] = t
			}
		default:
			out[k] = v
		}
	}
	return out
}

func requiredIn(grand any, key string) bool {
	g, ok := grand.(map[string]any)
	if !ok {
		return false
	}
	req, _ := g["required"].([]any)
	for _, r := range req {
		if r == key {
			return true
		}
	}
	return false
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, c := range t {
			m[k] = deepCopy(c)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, c := range t {
			l[i] = deepCopy(c)
		}
		return l
	}
	return v
}
