package origin

import "testing"

// FuzzParseImport: any body parses without panicking, into good lines
// and numbered errors, never both empty.
func FuzzParseImport(f *testing.F) {
	f.Add([]byte("{\"url\":\"https://example.com/\",\"code\":\"a\"}\n{\"url\":\"x\"}\n"), false)
	f.Add([]byte("url,code,tags,max_visits,forward_query,ios\nhttps://example.com/,a,x;y,3,true,https://a.example/\n"), true)
	f.Add([]byte("url\n\"unterminated\n"), true)
	f.Add([]byte("code,code\n"), true)
	f.Fuzz(func(t *testing.T, body []byte, isCSV bool) {
		lines, errs, _ := parseImport(body, isCSV, fuzzNow)
		if len(lines) == 0 && len(errs) == 0 {
			t.Fatal("no lines and no errors")
		}
		if len(errs) > maxReportedErrors {
			t.Fatalf("%d errors reported", len(errs))
		}
		for _, l := range lines {
			if l.line < 1 || l.link.URL == "" {
				t.Fatalf("line %+v", l)
			}
		}
		for _, e := range errs {
			if e.Code == "" || e.Message == "" {
				t.Fatalf("error without code or message: %+v", e)
			}
		}
	})
}
