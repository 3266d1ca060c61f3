package origin_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// endpoint is an admin endpoint with the fields its body takes, each with
// values that must be refused. {res} in a path is the held reservation.
type endpoint struct {
	method, path string
	valid        string            // a body that would succeed (and change state)
	bad          map[string]string // field -> raw JSON values to refuse
}

// Numbers every integer field must refuse: out of range for the field or
// for int64, fractional, exponent forms, non-numbers in disguise.
var badInts = []string{
	"1.5", "1.0", "1e2", "1e400", "-1e400", "99999999999999999999", "9223372036854775808", "-9223372036854775809",
	`"5"`, `"NaN"`, `"Infinity"`, "NaN", "Infinity", "-", "0x10", "+1", "01", "true", "[]", "{}", `{"a":1}`, "[1]",
}

var badStrings = []string{"5", "true", "[]", "{}", `["x"]`, `{"a":"b"}`, "1e400", `"\ud800"`, `"\u0000"`, `"x\u000d\u000ay"`, `"\u12"`, `"\x"`}

func endpoints(res string) []endpoint {
	maxQ := fmt.Sprint(int64(1) << 40)
	return []endpoint{
		{"POST", "/v1/links", `{"url":"https://e.example/new"}`, map[string]string{
			"url":        strings.Join(append(badStrings, "null", `""`, `"javascript:alert(1)"`, `"https://e.example/\u0000"`), "|"),
			"code":       strings.Join(append(badStrings, `""`, `"-x"`, `"a/b"`, `"`+strings.Repeat("a", 65)+`"`), "|"),
			"redirect":   strings.Join(append(badInts, "0", "-302", "200", "303", "2147483648", "302.0", "3.02e2"), "|"),
			"expires_at": strings.Join(append(badStrings, `""`, `"tomorrow"`, `"2000-01-01T00:00:00Z"`, `"99999-01-01T00:00:00Z"`, `"2031-13-01T00:00:00Z"`), "|"),
		}},
		{"PATCH", "/v1/links/keep", `{"redirect":308}`, map[string]string{
			"url":        strings.Join(append(badStrings, `""`, `"data:text/html,x"`), "|"),
			"redirect":   strings.Join(append(badInts, "0", "-308", "304"), "|"),
			"expires_at": strings.Join(append(badStrings, `""`, `"2000-01-01T00:00:00Z"`), "|"),
		}},
		{"PUT", "/v1/stock/S/w", `{"on_hand":50}`, map[string]string{
			"on_hand": strings.Join(append(badInts, "null", "-1", maxQ+"1", fmt.Sprint(int64(1)<<40+1)), "|"),
		}},
		{"POST", "/v1/stock/S/w/adjust", `{"delta":-1}`, map[string]string{
			"delta": strings.Join(append(badInts, "null", "0", "-0", fmt.Sprint(int64(1)<<40+1), fmt.Sprint(-(int64(1)<<40+1))), "|"),
		}},
		{"POST", "/v1/reservations", `{"sku":"S","qty":1}`, map[string]string{
			"sku":         strings.Join(append(badStrings, "null", `""`, `"-x"`, `"a b"`), "|"),
			"qty":         strings.Join(append(badInts, "null", "0", "-1", "-0", fmt.Sprint(int64(1)<<40+1)), "|"),
			"warehouse":   strings.Join(append(badStrings, `""`, `"a b"`, `"-w"`), "|"),
			"ttl_seconds": strings.Join(append(badInts, "0", "-1", "86401"), "|"),
		}},
		// Endpoints without a body take none, or "{}".
		{"GET", "/v1/links/keep", "", nil},
		{"DELETE", "/v1/links/keep", "", nil},
		{"GET", "/v1/links/keep/stats", "", nil},
		{"GET", "/v1/stock/S", "", nil},
		{"GET", "/v1/reservations/" + res, "", nil},
		{"POST", "/v1/reservations/" + res + "/commit", "", nil},
		{"POST", "/v1/reservations/" + res + "/release", "", nil},
	}
}

// genericCorpus is refused by every endpoint: not one JSON object, or one
// that is malformed, or holds what no endpoint takes.
func genericCorpus() map[string]string {
	return map[string]string{
		"truncated":          `{"url":"https://e.exa`,
		"truncated-key":      `{"url`,
		"open":               `{`,
		"close":              `}`,
		"array":              `[]`,
		"array-of-object":    `[{"url":"https://e.example"}]`,
		"null":               `null`,
		"true":               `true`,
		"string":             `"x"`,
		"number":             `123`,
		"NaN":                `NaN`,
		"NaN-value":          `{"x":NaN}`,
		"unknown-field":      `{"unknown":1}`,
		"two-objects":        `{} {}`,
		"trailing-garbage":   `{}x`,
		"trailing-comma":     `{"a":1,}`,
		"single-quotes":      `{'a':1}`,
		"bare-key":           `{a:1}`,
		"duplicate-key":      `{"a":1,"a":2}`,
		"bom":                "\ufeff{}",
		"bom-object":         "\ufeff{\"url\":\"https://e.example\"}",
		"invalid-utf8":       "{\"url\":\"https://e.example/\xff\"}",
		"utf16":              "\xff\xfe{\x00}\x00",
		"nul":                "{\x00}",
		"lone-surrogate-key": `{"\ud800":1}`,
		"bad-escape":         `{"\q":1}`,
		"short-escape":       `{"\u12":1}`,
		"comment":            `{/* x */}`,
		"deep":               `{"a":` + strings.Repeat("[", 30000),
		"deep-balanced":      `{"a":` + strings.Repeat("[", 30000) + strings.Repeat("]", 30000) + `}`,
		"nested-object":      `{"a":{"b":{"c":{}}}}`,
		"huge-number":        `{"a":` + strings.Repeat("9", 60000) + `}`,
		"unicode-key":        `{"ü":1}`,
		"escaped-unknown":    `{"\u0075nknown":1}`,
		"control-in-string":  "{\"a\":\"\x01\"}",
	}
}

// TestMalformedBodiesOnEveryEndpoint sends each endpoint the generic
// corpus, a 1 MB body, and every bad value of each of its fields (next to
// otherwise valid fields), plus duplicate and case-folded keys. Every one
// must be a 400 (413 for the large body) with the error shape, and no
// storage head or version may move.
func TestMalformedBodiesOnEveryEndpoint(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://e.example/keep", "code": "keep"}), 201, "")
		expect(t, o.admin("PUT", "/v1/stock/S/w", map[string]any{"on_hand": 10}), 200, "")
		hold := expect(t, o.admin("POST", "/v1/reservations", map[string]any{"sku": "S", "qty": 2}), 201, "")
		res := hold["id"].(string)
		before, err := o.store.Heads(context.Background())
		if err != nil {
			t.Fatal(err)
		}

		big := `{"url":"https://e.example/` + strings.Repeat("a", 1<<20) + `"}`
		sent := 0
		for _, ep := range endpoints(res) {
			send := func(name, body string, want int) {
				t.Helper()
				r := o.admin(ep.method, ep.path, body)
				sent++
				if r.status != want {
					t.Fatalf("%s %s, %s %.80q: %d, want %d; %s", ep.method, ep.path, name, body, r.status, want, r.body)
				}
				code := "invalid_json"
				if want == 413 {
					code = "body_too_large"
				}
				if m := expect(t, r, want, ""); m["error"] == nil || m["message"] == "" {
					t.Fatalf("%s %s, %s: error shape %s", ep.method, ep.path, name, r.body)
				} else if want == 413 && m["error"] != code {
					t.Fatalf("%s %s: %v, want %s", ep.method, ep.path, m["error"], code)
				}
			}
			for name, body := range genericCorpus() {
				send(name, body, 400)
			}
			send("1MB", big, 413)
			if ep.valid == "" {
				continue
			}
			valid := rawFields(t, ep.valid) // field -> raw valid value
			for field, values := range ep.bad {
				for _, v := range strings.Split(values, "|") {
					send(field+"="+v, withField(valid, field, v), 400)
				}
			}
			for field, v := range valid {
				dup := strings.TrimSuffix(ep.valid, "}") + `,"` + field + `":` + v + `}`
				send("duplicate "+field, dup, 400)
				send("upper-case "+field, strings.Replace(ep.valid, `"`+field+`"`, `"`+strings.ToUpper(field)+`"`, 1), 400)
				send("nested "+field, `{"`+field+`":{"`+field+`":`+v+`}}`, 400)
				send("array "+field, `{"`+field+`":[`+v+`]}`, 400)
			}
		}

		after, _ := o.store.Heads(context.Background())
		for p := range after {
			if after[p] != before[p] {
				t.Fatalf("after %d malformed requests partition %d moved from %d to %d", sent, p, before[p], after[p])
			}
		}
		if m := expect(t, o.admin("GET", "/v1/links/keep", nil), 200, ""); m["version"] != 1.0 || m["url"] != "https://e.example/keep" || m["redirect"] != 302.0 {
			t.Fatalf("link changed: %v", m)
		}
		if m := expect(t, o.admin("GET", "/v1/stock/S", nil), 200, ""); m["version"] != 2.0 || m["available"] != 8.0 {
			t.Fatalf("stock changed: %v", m)
		}
		if m := expect(t, o.admin("GET", "/v1/reservations/"+res, nil), 200, ""); m["status"] != "held" {
			t.Fatalf("reservation changed: %v", m)
		}
		// Bodyless endpoints still take nothing, or "{}".
		expect(t, o.admin("GET", "/v1/links/keep", "{}"), 200, "")
		expect(t, o.admin("GET", "/v1/links/keep", " \n"), 200, "")
		expect(t, o.admin("POST", "/v1/reservations/"+res+"/release", "{}"), 200, "")
	})
}

// rawFields splits a flat JSON object of scalars into field -> raw value.
func rawFields(t *testing.T, obj string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, kv := range strings.Split(strings.Trim(obj, "{}"), ",") {
		k, v, ok := strings.Cut(kv, ":")
		if !ok {
			t.Fatalf("bad template %s", obj)
		}
		m[strings.Trim(k, `"`)] = v
	}
	return m
}

// withField builds an object from valid with field set to the raw v.
func withField(valid map[string]string, field, v string) string {
	var parts []string
	for k, val := range valid {
		if k != field {
			parts = append(parts, `"`+k+`":`+val)
		}
	}
	parts = append(parts, `"`+field+`":`+v)
	return "{" + strings.Join(parts, ",") + "}"
}
