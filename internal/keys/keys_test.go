package keys

import (
	"regexp"
	"testing"
)

var (
	codeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
	skuRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)
)

func TestValidators(t *testing.T) {
	long := "a123456789012345678901234567890123456789012345678901234567890123"
	cases := []struct {
		in        string
		code, sku bool
	}{
		{"abc", true, true}, {"A-b_c", true, true}, {"a.b", false, true}, {"a:b", false, true},
		{"", false, false}, {"-a", false, false}, {"_a", false, false}, {".a", false, false},
		{"a/b", false, false}, {"a b", false, false}, {"é", false, false}, {long, true, true},
		{long + "x", false, false}, {"a\x00", false, false}, {"a\n", false, false},
	}
	for _, c := range cases {
		if got := ValidCode(c.in); got != c.code {
			t.Errorf("ValidCode(%q) = %v, want %v", c.in, got, c.code)
		}
		if got := ValidSKU(c.in); got != c.sku {
			t.Errorf("ValidSKU(%q) = %v, want %v", c.in, got, c.sku)
		}
		if ValidCode([]byte(c.in)) != c.code || ValidSKU([]byte(c.in)) != c.sku {
			t.Errorf("[]byte and string disagree on %q", c.in)
		}
	}
}

func TestPartitionStableAndSpread(t *testing.T) {
	for _, n := range []int{1, 64, DefaultPartitions, MaxPartitions} {
		sp := MustSpace(n)
		if sp.Partition(KindLink, "abc") != sp.PartitionBytes(KindLink, []byte("abc")) {
			t.Fatal("string and []byte partitions differ")
		}
		if sp.PartitionOfKey(Key(KindStock, "SKU-1")) != sp.Partition(KindStock, "SKU-1") {
			t.Fatal("PartitionOfKey disagrees with Partition")
		}
		if sp.PartitionOfKey("x:abc") != -1 || sp.PartitionOfKey("l") != -1 {
			t.Fatal("malformed keys must give -1")
		}
	}
	for _, n := range []int{64, DefaultPartitions} {
		sp := MustSpace(n)
		seen := map[int]int{}
		for i := 0; i < 100*n; i++ {
			seen[sp.Partition(KindLink, RandomCode(7))]++
		}
		if len(seen) != n {
			t.Fatalf("only %d of %d partitions used", len(seen), n)
		}
		for p, c := range seen {
			if c < 40 || c > 200 {
				t.Errorf("n=%d: partition %d got %d of %d keys: badly skewed hash", n, p, c, 100*n)
			}
		}
	}
}

// A key's partition at n is its partition at 2n modulo n, so doubling the
// count only splits partitions.
func TestPartitionDoubling(t *testing.T) {
	for n := 1; n < MaxPartitions; n *= 2 {
		a, b := MustSpace(n), MustSpace(2*n)
		for i := 0; i < 200; i++ {
			c := RandomCode(8)
			if pa, pb := a.Partition(KindLink, c), b.Partition(KindLink, c); pb%n != pa {
				t.Fatalf("%q: partition %d at %d, %d at %d", c, pa, n, pb, 2*n)
			}
		}
	}
}

func TestSpaceValidation(t *testing.T) {
	for _, n := range []int{0, -1, 3, 1000, 2 * MaxPartitions, 1 << 20} {
		if _, err := NewSpace(n); err == nil {
			t.Errorf("NewSpace(%d) accepted", n)
		}
	}
	for n := 1; n <= MaxPartitions; n *= 2 {
		sp, err := NewSpace(n)
		if err != nil || sp.N() != n || !sp.Valid(n-1) || sp.Valid(n) || sp.Valid(-1) {
			t.Errorf("NewSpace(%d) = %v, %v", n, sp, err)
		}
	}
	if (Space{}).N() != DefaultPartitions {
		t.Fatal("zero Space is not the default")
	}
}

func TestPartitionAllocatesNothing(t *testing.T) {
	b := []byte("somecode")
	sp := MustSpace(DefaultPartitions)
	if n := testing.AllocsPerRun(100, func() { _ = sp.PartitionBytes(KindLink, b); _ = ValidCode(b) }); n != 0 {
		t.Fatalf("allocs = %v, want 0", n)
	}
}

func TestRandomCode(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		c := RandomCode(7)
		if len(c) != 7 || !codeRE.MatchString(c) {
			t.Fatalf("bad code %q", c)
		}
		if seen[c] {
			t.Fatalf("duplicate code %q in 1000 draws", c)
		}
		seen[c] = true
	}
}

func TestReservationID(t *testing.T) {
	for p := 0; p < MaxPartitions; p++ {
		id := NewReservationID(p)
		got, err := ReservationPartition(id)
		if err != nil || got != p {
			t.Fatalf("ReservationPartition(%q) = %d, %v; want %d", id, got, err, p)
		}
	}
	for _, bad := range []string{"", "r16384_AAAAAAAAAAAAAAAAAAAA", "r007_AAAAAAAAAAAAAAAAAAAA", "r1_AAAAAAAAAAAAAAAAAAAA", "x01_AAAAAAAAAAAAAAAAAAAA", "r01-AAAAAAAAAAAAAAAAAAAA", "r01_AAAAAAAAAAAAAAAAAAA!", "r01_short"} {
		if _, err := ReservationPartition(bad); err == nil {
			t.Errorf("ReservationPartition(%q) accepted a malformed id", bad)
		}
	}
}

func FuzzValidators(f *testing.F) {
	for _, s := range []string{"abc", "a.b", "-x", "", "a/b", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidCode(s) != codeRE.MatchString(s) {
			t.Fatalf("ValidCode(%q) disagrees with the regexp", s)
		}
		if ValidSKU(s) != skuRE.MatchString(s) {
			t.Fatalf("ValidSKU(%q) disagrees with the regexp", s)
		}
		if p := MustSpace(DefaultPartitions).Partition(KindStock, s); p < 0 || p >= DefaultPartitions {
			t.Fatalf("partition %d out of range", p)
		}
	})
}

func FuzzReservationPartition(f *testing.F) {
	f.Add("r17_abcdefghijABCDEFGHIJ")
	f.Add("r99_abcdefghijABCDEFGHIJ")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ReservationPartition(s)
		if err == nil && (p < 0 || p >= MaxPartitions || NewReservationID(p)[:len(s)-ReservationIDLen] != s[:len(s)-ReservationIDLen]) {
			t.Fatalf("accepted %q with partition %d", s, p)
		}
	})
}
