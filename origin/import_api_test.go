package origin_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// exportLines reads an export as NDJSON objects.
func exportLines(t *testing.T, o *testOrigin, query string) []map[string]any {
	t.Helper()
	r := o.admin("GET", "/v1/links:export"+query, nil)
	if r.status != 200 || r.header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("export: %d %q %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// TestImportExport: NDJSON and CSV imports create every line; a file
// with a bad line (or a taken code) is refused with the lines' numbers
// and writes nothing; export streams every link (or a tag's) back.
func TestImportExport(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://example.com/old", "code": "taken"}), 201, "")

		nd := `{"url":"https://example.com/1","code":"imp1","tags":["spring"],"title":"One"}

{"url":"https://example.com/2","code":"imp2","max_visits":3,"forward_query":true}
{"url":"https://example.com/3"}
`
		m := expect(t, o.admin("POST", "/v1/links:import", nd, "Content-Type", "application/x-ndjson"), 200, "")
		if m["created"] != 3.0 {
			t.Fatalf("NDJSON import: %v", m)
		}
		csv := "url,code,tags,max_visits,ios\n" +
			"https://example.com/c1,csv1,spring;autumn,,https://apps.apple.com/x\n" +
			"\"https://example.com/c2?a=1,2\",csv2,,5,\n"
		m = expect(t, o.admin("POST", "/v1/links:import", csv, "Content-Type", "text/csv; charset=utf-8"), 200, "")
		if m["created"] != 2.0 {
			t.Fatalf("CSV import: %v", m)
		}
		l := expect(t, o.admin("GET", "/v1/links/csv1", nil), 200, "")
		if !reflect.DeepEqual(l["tags"], []any{"autumn", "spring"}) || l["targets"].(map[string]any)["ios"] != "https://apps.apple.com/x" {
			t.Fatalf("imported csv1: %v", l)
		}
		if l := expect(t, o.admin("GET", "/v1/links/csv2", nil), 200, ""); l["url"] != "https://example.com/c2?a=1,2" || l["max_visits"] != 5.0 {
			t.Fatalf("imported csv2: %v", l)
		}

		// Bad lines: every one reported by number, nothing written.
		heads := func() string {
			lines := exportLines(t, o, "")
			return fmt.Sprint(len(lines))
		}
		before := heads()
		bad := `{"url":"https://example.com/ok","code":"fine1"}
{"url":"ftp://x","code":"fine2"}
not json
{"url":"https://example.com/t","tags":["bad tag"]}
{"url":"https://example.com/d","code":"fine1"}
{"url":"https://example.com/m","max_visits":0}
`
		m = expect(t, o.admin("POST", "/v1/links:import", bad), 400, "invalid_import")
		var lines []float64
		for _, e := range m["errors"].([]any) {
			lines = append(lines, e.(map[string]any)["line"].(float64))
		}
		if !reflect.DeepEqual(lines, []float64{2, 3, 4, 5, 6}) {
			t.Fatalf("bad lines reported %v, want 2..6: %v", lines, m)
		}
		m = expect(t, o.admin("POST", "/v1/links:import", "url,code\nhttps://example.com/a,ok1\nhttps://example.com/b,taken\n", "Content-Type", "text/csv"), 409, "code_taken")
		if e := m["errors"].([]any)[0].(map[string]any); e["line"] != 3.0 {
			t.Fatalf("taken code reported at %v, want line 3", e)
		}
		expect(t, o.admin("POST", "/v1/links:import", "code,bogus\nx,y\n", "Content-Type", "text/csv"), 400, "invalid_import")
		expect(t, o.admin("POST", "/v1/links:import", "", "Content-Type", "text/csv"), 400, "invalid_import")
		expect(t, o.admin("POST", "/v1/links:import", "\n\n"), 400, "invalid_import")
		if after := heads(); after != before {
			t.Fatalf("refused imports changed the links: %s before, %s after", before, after)
		}
		expect(t, o.admin("GET", "/v1/links/fine1", nil), 404, "not_found")
		expect(t, o.admin("GET", "/v1/links/ok1", nil), 404, "not_found")

		// Export: all links in code order, or one tag's.
		all := exportLines(t, o, "")
		if len(all) != 6 {
			t.Fatalf("export has %d links, want 6", len(all))
		}
		for i := 1; i < len(all); i++ {
			if all[i-1]["code"].(string) >= all[i]["code"].(string) {
				t.Fatalf("export out of code order at %d", i)
			}
		}
		var spring []string
		for _, l := range exportLines(t, o, "?tag=spring") {
			spring = append(spring, l["code"].(string))
		}
		if strings.Join(spring, ",") != "csv1,imp1" {
			t.Fatalf("export of tag spring: %v", spring)
		}
		expect(t, o.admin("GET", "/v1/links:export?tag=no%20pe", nil), 400, "invalid_tags")
	})
}
