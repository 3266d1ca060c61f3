package edge

import (
	"strconv"
	"testing"
)

// setTags gives a link tags (as the origin's fetch endpoint sends them),
// without a new version: a test sets them before the edge first fetches.
func (o *fakeOrigin) setTags(code string, tags ...string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.links[code]
	r.Tags = tags
	o.links[code] = r
}

// TestSurrogateKeyNamesTags: a tagged link's answers (miss, hit, HEAD)
// carry "link:CODE tag:A tag:B" and stay cacheable downstream; a tagged
// link with per-request features names its tags but stays private; an
// untagged link names only itself.
func TestSurrogateKeyNamesTags(t *testing.T) {
	o := newFakeOrigin(t)
	o.putLink("tagged", "https://example.com/a", 302)
	o.setTags("tagged", "promo", "spring_26")
	o.putLink("plain", "https://example.com/a", 302)
	o.putLink("tagfeat", "https://example.com/a", 302)
	o.setTags("tagfeat", "promo")
	o.mu.Lock()
	r := o.links["tagfeat"]
	r.ForwardQuery = true
	o.links["tagfeat"] = r
	o.mu.Unlock()
	e := newTestEdge(t, []string{o.url})
	for _, c := range []struct{ path, skey, cc string }{
		{"/tagged", "link:tagged tag:promo tag:spring_26", ""},
		{"/plain", "link:plain", ""},
		{"/tagfeat", "link:tagfeat tag:promo", "private, no-store"},
	} {
		var plainCC string
		for _, m := range []string{"GET", "GET", "HEAD"} {
			a := e.doCache(m, c.path)
			if a.status != 302 || a.skey != c.skey {
				t.Fatalf("%s %s: %d, Surrogate-Key %q, want %q", m, c.path, a.status, a.skey, c.skey)
			}
			if c.cc != "" && a.cc != c.cc {
				t.Fatalf("%s %s: Cache-Control %q, want %q", m, c.path, a.cc, c.cc)
			}
			if c.cc == "" {
				if plainCC == "" {
					plainCC = e.doCache("GET", "/plain").cc
				}
				if a.cc != plainCC || a.sc == "no-store" {
					t.Fatalf("%s %s: Cache-Control %q / Surrogate-Control %q, want cacheable like an untagged link (%q)", m, c.path, a.cc, a.sc, plainCC)
				}
			}
		}
	}
}

// TestMalformedTagsRefused: tags that could break the Surrogate-Key
// header are a protocol error, not an answer.
func TestMalformedTagsRefused(t *testing.T) {
	for _, tags := range [][]string{{"a b"}, {"x\r\nSet-Cookie: y"}, {""}, {"0123456789012345678901234567890123"}} {
		if _, err := decodeLink("c", []byte(`{"code":"c","url":"https://example.com/","redirect":302,"version":1,"tags":`+jsonStrings(tags)+`}`)); err == nil {
			t.Errorf("tags %q accepted", tags)
		}
	}
	if _, err := decodeLink("c", []byte(`{"code":"c","url":"https://example.com/","redirect":302,"version":1,"tags":["ok-1","B_2"]}`)); err != nil {
		t.Errorf("good tags refused: %v", err)
	}
}

func jsonStrings(ss []string) string {
	out := "["
	for i, s := range ss {
		if i > 0 {
			out += ","
		}
		out += strconv.Quote(s)
	}
	return out + "]"
}
