package origin

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shortstock/shortstock/origin/store"
)

// Bulk import parsing: pure functions of the body, so they can be fuzzed.
// A line is a link as POST /v1/links takes it: an NDJSON object, or a CSV
// row under a header naming the columns (url, code, redirect, expires_at,
// tags, title, max_visits, valid_since, forward_query, ios, android; tags
// separated by spaces or ';').

// Limits of one import.
const (
	MaxImportLines     = 100000
	MaxImportBytes     = 64 << 20
	maxReportedErrors  = 100
	maxImportLineBytes = 64 << 10
)

// importLine is one parsed line: its number in the file and the link.
type importLine struct {
	line int
	link store.NewLink
}

// lineError is a bad line, as the answer lists it.
type lineError struct {
	Line    int    `json:"line"`
	Code    string `json:"error"`
	Message string `json:"message"`
}

// csvColumns are the CSV header names an import accepts.
var csvColumns = map[string]bool{
	"url": true, "code": true, "redirect": true, "expires_at": true, "tags": true, "title": true,
	"max_visits": true, "valid_since": true, "forward_query": true, "ios": true, "android": true,
}

// parseImport parses a whole import body. It returns every good line and
// the bad ones (at most maxReportedErrors, plus whether there were more);
// duplicate codes within the file are bad lines too.
func parseImport(body []byte, isCSV bool, now time.Time) ([]importLine, []lineError, bool) {
	var lines []importLine
	var errs []lineError
	more := false
	bad := func(line int, ae *apiError) {
		if len(errs) < maxReportedErrors {
			errs = append(errs, lineError{line, ae.Code, ae.Message})
		} else {
			more = true
		}
	}
	codes := map[string]int{}
	add := func(line int, obj []byte) {
		nl, ae := decodeCreateLink(obj, now)
		if ae != nil {
			bad(line, ae)
			return
		}
		if nl.Code != "" {
			if first, dup := codes[nl.Code]; dup {
				bad(line, badRequest("duplicate_code", fmt.Sprintf("code %s is also on line %d", nl.Code, first)))
				return
			}
			codes[nl.Code] = line
		}
		if len(lines) >= MaxImportLines {
			bad(line, badRequest("too_many_lines", fmt.Sprintf("an import has at most %d lines", MaxImportLines)))
			return
		}
		lines = append(lines, importLine{line, nl})
	}
	if isCSV {
		parseCSV(body, add, bad)
	} else {
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(make([]byte, 0, 4096), maxImportLineBytes)
		n := 0
		for sc.Scan() {
			n++
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			add(n, sc.Bytes())
		}
		if err := sc.Err(); err != nil {
			bad(n+1, badRequest("invalid_line", fmt.Sprintf("line longer than %d bytes", maxImportLineBytes)))
		}
	}
	if len(lines) == 0 && len(errs) == 0 {
		bad(1, badRequest("empty_import", "the import has no links"))
	}
	return lines, errs, more
}

func parseCSV(body []byte, add func(int, []byte), bad func(int, *apiError)) {
	r := csv.NewReader(bytes.NewReader(body))
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		bad(1, badRequest("invalid_csv", "the first line must be a header naming the columns, e.g. url,code,tags"))
		return
	}
	cols := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !csvColumns[h] || seen[h] {
			bad(1, badRequest("invalid_csv", fmt.Sprintf("header column %q is unknown or repeated", h)))
			return
		}
		seen[h] = true
		cols[i] = h
	}
	if !seen["url"] {
		bad(1, badRequest("invalid_csv", "the header has no url column"))
		return
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			bad(line, badRequest("invalid_csv", err.Error()))
			if pe != nil && pe.Err == csv.ErrFieldCount {
				continue
			}
			return
		}
		obj, ae := csvObject(cols, rec)
		if ae != nil {
			bad(line, ae)
			continue
		}
		add(line, obj)
	}
}

// csvObject turns a CSV row into the JSON object of a create; empty
// cells are left out.
func csvObject(cols, rec []string) ([]byte, *apiError) {
	m := map[string]any{}
	var targets map[string]string
	for i, v := range rec {
		if v == "" {
			continue
		}
		if !utf8.ValidString(v) {
			return nil, badRequest("invalid_csv", "column "+cols[i]+" is not valid UTF-8")
		}
		switch c := cols[i]; c {
		case "redirect", "max_visits":
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return nil, badRequest("invalid_"+c, c+" must be an integer")
			}
			m[c] = n
		case "forward_query":
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return nil, badRequest("invalid_forward_query", "forward_query must be true or false")
			}
			m[c] = b
		case "tags":
			m[c] = strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ';' })
		case "ios", "android":
			if targets == nil {
				targets = map[string]string{}
			}
			targets[c] = v
		default:
			m[c] = v
		}
	}
	if targets != nil {
		m["targets"] = targets
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, badRequest("invalid_csv", "the row is not valid UTF-8 text")
	}
	return b, nil
}
