package origin

import (
	"net/http"
	"strconv"

	"github.com/shortstock/shortstock/docs"
)

// serveOpenAPI answers GET /v1/openapi.json: docs/openapi.yaml as JSON,
// converted once at New. It needs no key (shared/API.md): the document
// holds no secrets, and a client generator must be able to read it.
func (s *Server) serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(s.openapi)))
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(s.openapi)
}

// openAPIDocument is the spec as JSON; an error means the embedded YAML
// does not parse, which docs' own tests catch first.
func openAPIDocument() ([]byte, error) { return docs.OpenAPIJSON() }
