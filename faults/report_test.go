package faults

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// figures are what one test measured, reported as a single line in the
// order they were set so runs are easy to compare. A figure marked must-be-
// zero fails the test when it is not.
type figures struct {
	name     string
	order    []string
	values   map[string]string
	mustZero map[string]int64
}

func newFigures(name string) *figures {
	return &figures{name: name, values: map[string]string{}, mustZero: map[string]int64{}}
}

func (f *figures) put(k, v string) {
	if _, ok := f.values[k]; !ok {
		f.order = append(f.order, k)
	}
	f.values[k] = v
}

// zero records a figure that must be 0.
func (f *figures) zero(k string, v int64) {
	f.put(k, fmt.Sprint(v))
	f.mustZero[k] = v
}

// count records an informational number.
func (f *figures) count(k string, v any) { f.put(k, fmt.Sprint(v)) }

// dur records a duration in milliseconds.
func (f *figures) dur(k string, d time.Duration) {
	f.put(k, fmt.Sprintf("%dms", d.Round(time.Millisecond).Milliseconds()))
}

func (f *figures) line() string {
	var b strings.Builder
	b.WriteString(f.name + ":")
	for _, k := range f.order {
		b.WriteString(" " + k + "=" + f.values[k])
	}
	return b.String()
}

// report logs the summary line and fails t for every must-be-zero figure
// that is not. Call it once, at the end (or deferred, so a test that stops
// early still says what it saw).
func (f *figures) report(t testing.TB) {
	t.Helper()
	t.Logf("%s", f.line())
	for _, k := range f.order {
		if v, ok := f.mustZero[k]; ok && v != 0 {
			t.Errorf("%s: %s=%d, must be 0", f.name, k, v)
		}
	}
}
