package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// finding is what check needs of govulncheck's "finding" message.
type finding struct {
	OSV   string `json:"osv"`
	Fixed string `json:"fixed_version"`
	Trace []struct {
		Module   string `json:"module"`
		Version  string `json:"version"`
		Package  string `json:"package"`
		Function string `json:"function"`
		Receiver string `json:"receiver"`
	} `json:"trace"`
}

// called is one vulnerability reached from the module's code.
type called struct {
	id, module, version, fixed, symbol string
}

// check reads a govulncheck -format json stream from in and returns an
// error when a dependency's vulnerability is reached from our code (or,
// with -stdlib=fail, the standard library's). Findings at the package or
// module level only (imported or required, never called) are not
// reported, as govulncheck's own text mode does.
func check(args []string, in io.Reader, log io.Writer) error {
	fs := flag.NewFlagSet("vulndb check", flag.ContinueOnError)
	fs.SetOutput(log)
	stdlib := fs.String("stdlib", "warn", "warn or fail on called vulnerabilities of the standard library")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *stdlib != "warn" && *stdlib != "fail" {
		return fmt.Errorf("-stdlib must be warn or fail, not %q", *stdlib)
	}
	found, err := readFindings(in)
	if err != nil {
		return err
	}
	var deps, std []called
	for _, c := range found {
		if c.module == "stdlib" || c.module == "toolchain" {
			std = append(std, c)
		} else {
			deps = append(deps, c)
		}
	}
	for _, c := range std {
		fmt.Fprintf(log, "vulncheck: WARNING %s in the standard library %s (fixed in %s): %s is called\n", c.id, c.version, c.fixed, c.symbol)
	}
	if len(std) > 0 {
		fmt.Fprintf(log, "vulncheck: %d standard library vulnerabilities reached: the fix is a newer Go toolchain (docs/security.md, \"Known vulnerabilities\")\n", len(std))
	}
	for _, c := range deps {
		fmt.Fprintf(log, "vulncheck: %s in %s@%s (fixed in %s): %s is called\n", c.id, c.module, c.version, orNone(c.fixed), c.symbol)
	}
	switch {
	case len(deps) > 0:
		return fmt.Errorf("%d vulnerabilities of dependencies are reached from our code: upgrade them (go get MODULE@FIXED)", len(deps))
	case len(std) > 0 && *stdlib == "fail":
		return fmt.Errorf("%d standard library vulnerabilities are reached from our code (-stdlib=fail)", len(std))
	}
	fmt.Fprintf(log, "vulncheck: no vulnerability of a dependency is reached from our code\n")
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "no version yet"
	}
	return s
}

// readFindings decodes the stream of JSON messages and keeps one entry per
// (vulnerability, module) whose trace reaches a function.
func readFindings(in io.Reader) ([]called, error) {
	dec := json.NewDecoder(in)
	seen := map[[2]string]bool{}
	var out []called
	messages := 0
	for {
		var msg struct {
			Finding *finding `json:"finding"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading govulncheck's JSON: %w", err)
		}
		messages++
		f := msg.Finding
		if f == nil || len(f.Trace) == 0 || f.Trace[0].Function == "" {
			continue
		}
		t := f.Trace[0]
		k := [2]string{f.OSV, t.Module}
		if seen[k] {
			continue
		}
		seen[k] = true
		sym := t.Function
		if t.Receiver != "" {
			sym = strings.TrimPrefix(t.Receiver, "*") + "." + sym
		}
		out = append(out, called{id: f.OSV, module: t.Module, version: t.Version, fixed: f.Fixed, symbol: t.Package + "." + sym})
	}
	if messages == 0 {
		// govulncheck failed before it wrote anything: never a pass.
		return nil, errors.New("no govulncheck output to check")
	}
	slices.SortFunc(out, func(a, b called) int { return strings.Compare(a.module+a.id, b.module+b.id) })
	return out, nil
}
