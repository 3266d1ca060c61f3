package cpuset

import (
	"errors"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
	}{
		{"0", []int{0}},
		{"1", []int{1}},
		{"0,2", []int{0, 2}},
		{"2,0,2", []int{0, 2}},
		{"0-3", []int{0, 1, 2, 3}},
		{"5,0-2", []int{0, 1, 2, 5}},
		{"7-7", []int{7}},
		{"1023", []int{1023}},
	} {
		got, err := Parse(c.in)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("Parse(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", ",", "1,", "-1", "1-", "a", "1.5", " 1", "3-1", "1024", "0-1024", "99999", "+1", "1--2", "0x1"} {
		if got, err := Parse(in); !errors.Is(err, ErrBadList) {
			t.Errorf("Parse(%q) = %v, %v; want ErrBadList", in, got, err)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		in   []int
		want string
	}{
		{nil, ""},
		{[]int{1}, "1"},
		{[]int{0, 1, 2, 5}, "0-2,5"},
		{[]int{0, 2, 4}, "0,2,4"},
		{[]int{3, 4}, "3-4"},
	} {
		if got := Format(c.in); got != c.want {
			t.Errorf("Format(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzParse: Parse never panics, and what it accepts is ascending, unique,
// in range, and comes back the same through Format.
//
//	go test -fuzz FuzzParse ./internal/cpuset/
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "0,2", "0-3,7", "3-1", "", "1024", "a-b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cpus, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrBadList) {
				t.Fatalf("Parse(%q): %v does not wrap ErrBadList", s, err)
			}
			return
		}
		if len(cpus) == 0 {
			t.Fatalf("Parse(%q) accepted no CPU", s)
		}
		for i, c := range cpus {
			if c < 0 || c > MaxCPU || i > 0 && c <= cpus[i-1] {
				t.Fatalf("Parse(%q) = %v: not ascending, unique CPUs in range", s, cpus)
			}
		}
		again, err := Parse(Format(cpus))
		if err != nil || !slices.Equal(again, cpus) {
			t.Fatalf("Parse(Format(%v)) = %v, %v", cpus, again, err)
		}
	})
}
