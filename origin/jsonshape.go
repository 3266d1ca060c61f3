package origin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// checkJSONShape walks a body token by token before encoding/json decodes
// it, refusing what encoding/json would let through silently:
//
//   - duplicate object keys, where encoding/json keeps the last: a proxy or
//     log that reads the first sees another request than the one applied;
//     keys count as duplicates when encoding/json would fold them to the
//     same field ("url", "URL", "\u0075rl"; "sku" and "ſku" with U+017F);
//   - top-level keys that match a field only case-insensitively ("URL"),
//     for the same reason;
//   - strings holding U+FFFD, which encoding/json substitutes for lone
//     surrogate escapes ("\ud800"), so what was sent is not what is stored.
//
// fields are the exact top-level names allowed. It also finds syntax
// errors and trailing data. Nesting costs a slice entry per level, not
// stack, so deep bodies cannot exhaust anything.
func checkJSONShape(body []byte, fields map[string]bool) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []jsonFrame
	started := false
	for {
		if started && len(stack) == 0 {
			break
		}
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		started = true
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			top := &stack[n-1]
			if tok == json.Delim('}') {
				stack = stack[:n-1]
				valueDone(stack)
				continue
			}
			key := tok.(string) // the decoder only yields string keys
			if strings.ContainsRune(key, utf8.RuneError) {
				return errors.New("an object key is not valid Unicode")
			}
			folded := foldKey(key)
			if top.keys[folded] {
				return errors.New("duplicate key " + quoteShort(key))
			}
			top.keys[folded] = true
			if n == 1 && !fields[key] {
				return errors.New("unknown field " + quoteShort(key) + " (field names are case-sensitive)")
			}
			top.wantKey = false
			continue
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, jsonFrame{object: true, wantKey: true, keys: map[string]bool{}})
			case '[':
				stack = append(stack, jsonFrame{})
			default: // ']' (a '}' is handled with the keys)
				stack = stack[:len(stack)-1]
				valueDone(stack)
			}
		case string:
			if strings.ContainsRune(t, utf8.RuneError) {
				return errors.New("a string is not valid Unicode (lone surrogate or U+FFFD)")
			}
			valueDone(stack)
		default:
			valueDone(stack)
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("request body has data after the JSON object")
	}
	return nil
}

// jsonFrame is an open object or array while checkJSONShape walks.
type jsonFrame struct {
	object  bool
	wantKey bool            // an object expecting a key (or its end) next
	keys    map[string]bool // folded keys seen in an object
}

// valueDone marks that the innermost object, if any, now expects a key.
func valueDone(stack []jsonFrame) {
	if n := len(stack); n > 0 && stack[n-1].object {
		stack[n-1].wantKey = true
	}
}

// foldKey maps a key to one representative of its case-folding orbit
// (the smallest rune of each unicode.SimpleFold cycle), so keys equal
// under Unicode case folding, as encoding/json matches fields, collide.
func foldKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		b.WriteRune(m)
	}
	return b.String()
}

func quoteShort(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// fieldCache maps a struct type to its JSON field names.
var fieldCache sync.Map // reflect.Type -> map[string]bool

// jsonFields returns the top-level JSON names of the struct v points to.
func jsonFields(v any) map[string]bool {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]bool)
	}
	fields := map[string]bool{}
	if t.Kind() == reflect.Struct {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct && f.Tag.Get("json") == "" {
				// An embedded struct's fields are the outer object's, as
				// encoding/json sees them.
				for name := range jsonFields(reflect.New(f.Type).Interface()) {
					fields[name] = true
				}
				continue
			}
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch name {
			case "-":
				continue
			case "":
				name = f.Name
			}
			fields[name] = true
		}
	}
	fieldCache.Store(t, fields)
	return fields
}
