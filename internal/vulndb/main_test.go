package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestBuildsTheV1Layout builds a database from three entries and reads it
// back as govulncheck's client does: the indexes list every module and
// entry with the right "fixed" version, and the entries are the files.
func TestBuildsTheV1Layout(t *testing.T) {
	out := filepath.Join(t.TempDir(), "db")
	var log bytes.Buffer
	if err := run([]string{"-src", "testdata/osv", "-out", out}, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	var meta struct{ Modified time.Time }
	readJSON(t, filepath.Join(out, "index", "db.json"), &meta)
	if want := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC); !meta.Modified.Equal(want) {
		t.Errorf("db.json modified %v, want the newest entry's %v", meta.Modified, want)
	}
	var mods []module
	readJSON(t, filepath.Join(out, "index", "modules.json"), &mods)
	got := map[string]string{}
	var paths []string
	for _, m := range mods {
		paths = append(paths, m.Path)
		for _, v := range m.Vulns {
			got[m.Path+" "+v.ID] = v.Fixed
		}
	}
	if strings.Join(paths, ",") != "example.com/mod,golang.org/x/net,stdlib" {
		t.Errorf("modules %v, want sorted example.com/mod, golang.org/x/net, stdlib", paths)
	}
	want := map[string]string{
		"stdlib GO-2024-2687":           "1.22.2",
		"golang.org/x/net GO-2024-2687": "0.23.0",
		"example.com/mod GO-2025-0001":  "", // re-introduced in 1.10.0: no version is safe
		"example.com/mod GO-2025-0002":  "1.10.0",
	}
	for k, w := range want {
		if f, ok := got[k]; !ok || f != w {
			t.Errorf("modules.json %s: fixed %q (listed %v), want %q", k, f, ok, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("modules.json lists %d (module, vuln) pairs, want %d: %v", len(got), len(want), got)
	}
	var vulns []vuln
	readJSON(t, filepath.Join(out, "index", "vulns.json"), &vulns)
	if len(vulns) != 3 || vulns[0].ID != "GO-2024-2687" || len(vulns[0].Aliases) != 1 {
		t.Errorf("vulns.json %+v", vulns)
	}
	for _, id := range []string{"GO-2024-2687", "GO-2025-0001", "GO-2025-0002"} {
		a, err := os.ReadFile(filepath.Join("testdata", "osv", id+".json"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(out, "ID", id+".json"))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("ID/%s.json is not the entry (%v)", id, err)
		}
	}
	// A second run replaces the database and leaves no temporary directory.
	if err := run([]string{"-src", "testdata/osv", "-out", out}, &log); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*tmp*"))
	if len(left) != 0 {
		t.Errorf("temporary directories left: %v", left)
	}
}

func TestRefusesMisnamedEntries(t *testing.T) {
	src := t.TempDir()
	b, err := os.ReadFile("testdata/osv/GO-2025-0001.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "GO-2025-0009.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	err = run([]string{"-src", src, "-out", filepath.Join(t.TempDir(), "db")}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "<ID>.json") {
		t.Fatalf("an entry under another ID's name: %v, want refused", err)
	}
	if err := run([]string{"-src", t.TempDir(), "-out", filepath.Join(t.TempDir(), "db")}, &bytes.Buffer{}); err == nil {
		t.Fatal("an empty source directory gave a database")
	}
}

func TestSemverOrder(t *testing.T) {
	order := []string{"", "0.0.0-20230101000000-abcdef123456", "0.9.0", "1.2.0-0", "1.2.0-alpha", "1.2.0-alpha.1", "1.2.0-alpha.beta", "1.2.0-beta.2", "1.2.0-beta.11", "1.2.0-rc.1", "1.2.0", "1.2.1", "1.10.0", "10.0.0"}
	for i, a := range order {
		for j, b := range order {
			if got, want := semverLess(a, b), i < j; got != want {
				t.Errorf("semverLess(%q, %q) = %v, want %v", a, b, got, want)
			}
		}
	}
	if pseudoTime("golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018") != time.Date(2026, 11, 5, 23, 49, 57, 0, time.UTC) {
		t.Error("pseudo-version time")
	}
}

// The JSON stream of govulncheck: a called dependency fails, a called
// standard library finding warns (or fails with -stdlib=fail), findings
// that only import or require a vulnerable package never count.
func TestCheck(t *testing.T) {
	const (
		config     = `{"config":{"protocol_version":"v1.0.0","scanner_name":"govulncheck"}}`
		depCalled  = `{"finding":{"osv":"GO-2024-2687","fixed_version":"v0.23.0","trace":[{"module":"golang.org/x/net","version":"v0.22.0","package":"golang.org/x/net/http2","function":"processHeaders","receiver":"*serverConn"},{"module":"example.com/us","package":"example.com/us","function":"main"}]}}`
		depImports = `{"finding":{"osv":"GO-2025-0001","fixed_version":"","trace":[{"module":"example.com/mod","version":"v1.10.1","package":"example.com/mod/p"}]}}`
		stdCalled  = `{"finding":{"osv":"GO-2026-6599","fixed_version":"v1.26.9","trace":[{"module":"stdlib","version":"v1.26.8","package":"html/template","function":"Execute","receiver":"*Template"}]}}`
	)
	for _, c := range []struct {
		name   string
		stream string
		args   []string
		fails  bool
	}{
		{"nothing found", config, nil, false},
		{"dependency called", config + "\n" + depCalled + depCalled, nil, true},
		{"dependency only imported", config + depImports, nil, false},
		{"stdlib called", config + stdCalled, nil, false},
		{"stdlib called, -stdlib=fail", config + stdCalled, []string{"-stdlib=fail"}, true},
		{"no output at all", "", nil, true},
		{"broken output", config + `{"finding":`, nil, true},
	} {
		var log bytes.Buffer
		err := check(c.args, strings.NewReader(c.stream), &log)
		if (err != nil) != c.fails {
			t.Errorf("%s: err %v, want failure %v\n%s", c.name, err, c.fails, log.String())
		}
		if c.name == "dependency called" && strings.Count(log.String(), "GO-2024-2687") != 1 {
			t.Errorf("%s: want the finding listed once:\n%s", c.name, log.String())
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
