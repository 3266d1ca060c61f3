// Command vulndb builds, from the OSV entries of the golang.org/x/vulndb
// module, the v1 vulnerability database layout that
// `govulncheck -db file:///DIR` reads (https://go.dev/security/vuln/database#api):
//
//	DIR/index/db.json       {"modified": newest entry}
//	DIR/index/modules.json  [{"path", "vulns": [{"id", "modified", "fixed"}]}]
//	DIR/index/vulns.json    [{"id", "modified", "aliases"}]
//	DIR/ID/GO-YYYY-NNNN.json  the entries, byte for byte
//
// scripts/test runs it because vuln.go.dev is not reachable from the
// build network while the module proxy is: the module (pinned there, in
// one place) carries the same entries under data/osv.
//
//	go run ./internal/vulndb -module golang.org/x/vulndb@VERSION -out DIR
//	go run ./internal/vulndb -src DIR/data/osv -out DIR
//	govulncheck -db file:///DIR -format json ./... | go run ./internal/vulndb check
//
// check reads govulncheck's JSON stream and fails (exit 1) on a finding in
// code the module calls (a trace down to a function) in a dependency: a
// fixed version on the proxy is an upgrade away. A finding in the standard
// library is printed but does not fail the run (unless -stdlib=fail): the
// fix is a Go release, and the toolchain is the machine's (docs/security.md,
// "Known vulnerabilities").
//
// The output is written to a temporary directory beside DIR and renamed
// into place, so an interrupted run never leaves a half database that a
// later run would take as done. It imports nothing of ours.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "vulndb:", err)
		os.Exit(1)
	}
}

func run(args []string, log io.Writer) error {
	if len(args) > 0 && args[0] == "check" {
		return check(args[1:], os.Stdin, log)
	}
	fs := flag.NewFlagSet("vulndb", flag.ContinueOnError)
	fs.SetOutput(log)
	module := fs.String("module", "", "golang.org/x/vulndb@VERSION: download it with `go mod download` and read its data/osv")
	src := fs.String("src", "", "a directory of OSV entries (GO-*.json), instead of -module")
	out := fs.String("out", "", "where the database goes (replaced if it exists)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || (*module == "") == (*src == "") {
		return errors.New("usage: vulndb (-module golang.org/x/vulndb@VERSION | -src DIR) -out DIR")
	}
	dir, fallback := *src, time.Time{}
	if *module != "" {
		d, err := download(*module)
		if err != nil {
			return err
		}
		dir = filepath.Join(d, "data", "osv")
		fallback = pseudoTime(*module)
	}
	db, err := load(dir)
	if err != nil {
		return err
	}
	if db.modified.IsZero() {
		// The module's entries carry no modification time (all zero):
		// the database is as new as the commit it was cut from.
		db.modified = fallback
	}
	if err := db.write(*out); err != nil {
		return err
	}
	fmt.Fprintf(log, "vulndb: %d entries, %d modules, modified %s -> %s\n",
		len(db.entries), len(db.modules), db.modified.Format(time.RFC3339), *out)
	return nil
}

// download fetches a module into the module cache and returns its
// directory. It runs outside any module, so no go.mod or go.sum changes.
func download(module string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	var m struct{ Dir, Error string }
	if jerr := json.Unmarshal(b, &m); jerr == nil && m.Error != "" {
		return "", fmt.Errorf("go mod download %s: %s", module, m.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %v: %s", module, err, stderr.String())
	}
	if m.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no directory in %q", module, b)
	}
	return m.Dir, nil
}

var pseudoRE = regexp.MustCompile(`-(\d{14})-[0-9a-f]{12}$`)

// pseudoTime is the commit time of a pseudo-version
// (v0.0.0-20261105234957-e22db6528018), or zero.
func pseudoTime(module string) time.Time {
	m := pseudoRE.FindStringSubmatch(module)
	if m == nil {
		return time.Time{}
	}
	t, err := time.Parse("20060102150405", m[1])
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// entry is what the indexes need of an OSV entry; the entry itself is
// copied as it is.
type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
		Ranges []osvRange `json:"ranges"`
	} `json:"affected"`
	raw []byte
}

type osvRange struct {
	Type   string `json:"type"`
	Events []struct {
		Introduced string `json:"introduced,omitempty"`
		Fixed      string `json:"fixed,omitempty"`
	} `json:"events"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Fixed    string    `json:"fixed,omitempty"`
}

type module struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

type vuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
}

type database struct {
	modified time.Time
	entries  []*entry
	modules  map[string]*module
}

var idRE = regexp.MustCompile(`^GO-\d{4}-\d{4,}$`)

// load reads every GO-*.json of dir. An entry whose ID is not its file
// name, a duplicate ID, or an entry affecting no module is an error: the
// database would not say what the files say.
func load(dir string) (*database, error) {
	names, err := filepath.Glob(filepath.Join(dir, "GO-*.json"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no GO-*.json entries in %s", dir)
	}
	slices.Sort(names)
	db := &database{modules: map[string]*module{}}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		e := &entry{raw: b}
		if err := json.Unmarshal(b, e); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if !idRE.MatchString(e.ID) || filepath.Base(name) != e.ID+".json" {
			return nil, fmt.Errorf("%s: holds entry %q: the file must be named <ID>.json", name, e.ID)
		}
		if len(e.Affected) == 0 {
			return nil, fmt.Errorf("%s: affects no module", name)
		}
		if e.Modified.After(db.modified) {
			db.modified = e.Modified
		}
		for _, a := range e.Affected {
			p := a.Package.Name
			if p == "" {
				return nil, fmt.Errorf("%s: an affected package without a name", name)
			}
			m := db.modules[p]
			if m == nil {
				m = &module{Path: p, Vulns: []moduleVuln{}}
				db.modules[p] = m
			}
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: e.Modified, Fixed: latestFixed(a.Ranges)})
		}
		db.entries = append(db.entries, e)
	}
	return db, nil
}

// latestFixed is the version from which no later version is affected, or
// "" when there is none (never fixed, or re-introduced after the last fix),
// as x/vulndb's osvutils.LatestFixed computes it. govulncheck skips the
// entry for a module version at or above it, so "" is the safe answer.
func latestFixed(ranges []osvRange) string {
	var fixed string
	for _, r := range ranges {
		if r.Type != "SEMVER" {
			continue
		}
		for _, e := range r.Events {
			if e.Fixed != "" && semverLess(fixed, e.Fixed) {
				fixed = e.Fixed
			}
		}
		for _, e := range r.Events {
			if e.Introduced != "" && e.Introduced != "0" && semverLess(fixed, e.Introduced) {
				fixed = ""
				break
			}
		}
	}
	return fixed
}

// write lays out the database in a fresh directory beside out and renames
// it to out.
func (db *database) write(out string) error {
	out = filepath.Clean(out)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Mkdir(filepath.Join(tmp, "index"), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(tmp, "ID"), 0o755); err != nil {
		return err
	}
	mods := make([]*module, 0, len(db.modules))
	for _, m := range db.modules {
		slices.SortStableFunc(m.Vulns, func(a, b moduleVuln) int { return strings.Compare(a.ID, b.ID) })
		mods = append(mods, m)
	}
	slices.SortFunc(mods, func(a, b *module) int { return strings.Compare(a.Path, b.Path) })
	vulns := make([]vuln, 0, len(db.entries))
	for _, e := range db.entries {
		vulns = append(vulns, vuln{ID: e.ID, Modified: e.Modified, Aliases: e.Aliases})
		if err := os.WriteFile(filepath.Join(tmp, "ID", e.ID+".json"), e.raw, 0o644); err != nil {
			return err
		}
	}
	for name, v := range map[string]any{
		"db.json": struct {
			Modified time.Time `json:"modified"`
		}{db.modified.UTC()},
		"modules.json": mods,
		"vulns.json":   vulns,
	} {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(tmp, "index", name), b, 0o644); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

// semverLess compares unprefixed semantic versions as golang.org/x/mod's
// semver.Compare does ("1.22.0-0" < "1.22.0" < "1.22.1"); "" (or any
// invalid version) sorts below every valid one.
func semverLess(a, b string) bool { return semverCompare(a, b) < 0 }

func semverCompare(a, b string) int {
	pa, oka := parseSemver(a)
	pb, okb := parseSemver(b)
	switch {
	case !oka && !okb:
		return 0
	case !oka:
		return -1
	case !okb:
		return 1
	}
	for i := range 3 {
		if c := compareNum(pa.nums[i], pb.nums[i]); c != 0 {
			return c
		}
	}
	switch {
	case pa.pre == "" && pb.pre == "":
		return 0
	case pa.pre == "":
		return 1
	case pb.pre == "":
		return -1
	}
	x, y := strings.Split(pa.pre, "."), strings.Split(pb.pre, ".")
	for i := 0; i < len(x) && i < len(y); i++ {
		if c := comparePrerelease(x[i], y[i]); c != 0 {
			return c
		}
	}
	return compareNum(strconv.Itoa(len(x)), strconv.Itoa(len(y)))
}

type semver struct {
	nums [3]string
	pre  string
}

func isNum(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s == "0" || s[0] != '0'
}

func parseSemver(v string) (semver, bool) {
	var p semver
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexByte(v, '+'); i >= 0 {
		v = v[:i] // build metadata does not order
	}
	if i := strings.IndexByte(v, '-'); i >= 0 {
		v, p.pre = v[:i], v[i+1:]
		if p.pre == "" {
			return p, false
		}
	}
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return p, false
	}
	for i, s := range parts {
		if !isNum(s) {
			return p, false
		}
		p.nums[i] = s
	}
	return p, true
}

// compareNum compares decimal strings without leading zeros of any length.
func compareNum(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// comparePrerelease orders identifiers: numeric ones numerically and
// below alphanumeric ones, which compare as strings.
func comparePrerelease(a, b string) int {
	na, nb := isNum(a), isNum(b)
	switch {
	case na && nb:
		return compareNum(a, b)
	case na:
		return -1
	case nb:
		return 1
	}
	return strings.Compare(a, b)
}
