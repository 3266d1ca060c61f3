package cpuset

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxCPU bounds a CPU number, the size of Linux's cpu_set_t (1024).
const MaxCPU = 1023

// Parse reads a CPU list: comma-separated CPU numbers and inclusive
// ranges ("0", "1,3", "0-2,5"). It returns the CPUs ascending, each once.
func Parse(s string) ([]int, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrBadList)
	}
	var seen [MaxCPU + 1]bool
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := cpu(lo)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrBadList, s, err)
		}
		b := a
		if isRange {
			if b, err = cpu(hi); err != nil {
				return nil, fmt.Errorf("%w: %q: %w", ErrBadList, s, err)
			}
			if b < a {
				return nil, fmt.Errorf("%w: %q: range %d-%d runs backwards", ErrBadList, s, a, b)
			}
		}
		for c := a; c <= b; c++ {
			seen[c] = true
		}
	}
	var out []int
	for c, ok := range seen {
		if ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// cpu reads one CPU number: decimal digits only, at most MaxCPU.
func cpu(s string) (int, error) {
	if s == "" || len(s) > 4 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a CPU number", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > MaxCPU {
		return 0, fmt.Errorf("CPU %s is above %d", s, MaxCPU)
	}
	return n, nil
}

// Format writes cpus back as a list Parse reads, ranges folded: "0-2,5".
func Format(cpus []int) string {
	var b strings.Builder
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(cpus[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(cpus[j]))
		}
		i = j + 1
	}
	return b.String()
}
