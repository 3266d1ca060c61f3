// Package docs is the project's documentation. Its only Go code embeds the
// OpenAPI document (openapi.yaml, the single source of truth) so that the
// origin can serve it and the test suites can validate against it without
// a copy that could drift.
package docs

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"go.yaml.in/yaml/v4"
)

// OpenAPIYAML is docs/openapi.yaml, as written.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte

var (
	jsonOnce sync.Once
	jsonDoc  []byte
	jsonErr  error
)

// OpenAPIJSON returns the OpenAPI document converted to JSON, converted
// once per process. An error means openapi.yaml is not valid YAML, which
// the package's tests catch before a binary is built.
func OpenAPIJSON() ([]byte, error) {
	jsonOnce.Do(func() {
		var v any
		if err := yaml.Unmarshal(OpenAPIYAML, &v); err != nil {
			jsonErr = fmt.Errorf("docs: openapi.yaml: %w", err)
			return
		}
		v, jsonErr = jsonable(v)
		if jsonErr == nil {
			jsonDoc, jsonErr = json.Marshal(v)
		}
	})
	return jsonDoc, jsonErr
}

// jsonable turns what YAML decodes into what JSON can encode: mappings
// with non-string keys (an unquoted 200) become string-keyed objects.
func jsonable(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			t[k] = c
		}
		return t, nil
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			m[fmt.Sprint(k)] = c
		}
		return m, nil
	case []any:
		for i, e := range t {
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			t[i] = c
		}
		return t, nil
	}
	return v, nil
}
