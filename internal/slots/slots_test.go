package slots

import "testing"

// Known slots from the Redis Cluster specification and redis-cli CLUSTER KEYSLOT.
func TestKeyMatchesRedis(t *testing.T) {
	for key, want := range map[string]int{
		"foo":                  12182,
		"bar":                  5061,
		"123456789":            0x31C3,
		"{user1000}.following": Key("user1000"),
		"foo{}{bar}":           Key("foo{}{bar}"),
		"{}x":                  Key("{}x"),
	} {
		if got := Key(key); got != want {
			t.Errorf("Key(%q) = %d, want %d", key, got, want)
		}
	}
	if crc16("123456789") != 0x31C3 {
		t.Fatalf("crc16 check value wrong: %#x", crc16("123456789"))
	}
	if Key("{p17}:l:abc") != Partition(17) || Key("x:{p17}:s:{a}") != Partition(17) {
		t.Fatal("a partition's keys must share its slot")
	}
}

func TestPlanCoversAllSlotsAndBalancesPartitions(t *testing.T) {
	for _, tc := range []struct{ parts, shards int }{{64, 3}, {64, 4}, {1024, 3}, {1024, 4}, {1024, 7}, {1024, 10}, {16384, 16}} {
		plan, err := Plan(tc.parts, tc.shards)
		if err != nil {
			t.Fatal(err)
		}
		owner := make(map[int]int, Count)
		for i, sh := range plan {
			for _, s := range sh.Slots {
				if _, dup := owner[s]; dup {
					t.Fatalf("%+v: slot %d owned twice", tc, s)
				}
				owner[s] = i
			}
		}
		if len(owner) != Count {
			t.Fatalf("%+v: %d slots covered, want %d", tc, len(owner), Count)
		}
		seen := map[int]bool{}
		lo, hi := tc.parts, 0
		for i, sh := range plan {
			for _, p := range sh.Partitions {
				if seen[p] {
					t.Fatalf("%+v: partition %d placed twice", tc, p)
				}
				seen[p] = true
				if owner[Partition(p)] != i {
					t.Fatalf("%+v: partition %d listed on shard %d but its slot is on %d", tc, p, i, owner[Partition(p)])
				}
			}
			lo, hi = min(lo, len(sh.Partitions)), max(hi, len(sh.Partitions))
		}
		if len(seen) != tc.parts {
			t.Fatalf("%+v: %d partitions placed", tc, len(seen))
		}
		// Partitions sharing a slot must move together, so allow the largest
		// such group as slack on top of one.
		if hi-lo > 1+maxShared(tc.parts) {
			t.Fatalf("%+v: shards hold %d..%d partitions", tc, lo, hi)
		}
		t.Logf("%d partitions on %d shards: %d..%d per shard", tc.parts, tc.shards, lo, hi)
	}
}

// At the default 1024 partitions no two partitions share a slot, so
// shards are even within one partition.
func TestPlanEvenAt1024(t *testing.T) {
	if m := maxShared(1024); m != 0 {
		t.Fatalf("%d partitions share a slot at 1024", m)
	}
	for _, shards := range []int{3, 4, 10} {
		plan, err := Plan(1024, shards)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := 1024, 0
		for _, sh := range plan {
			lo, hi = min(lo, len(sh.Partitions)), max(hi, len(sh.Partitions))
		}
		if hi-lo > 1 {
			t.Fatalf("1024 partitions on %d shards: %d..%d per shard", shards, lo, hi)
		}
	}
}

func maxShared(parts int) int {
	n := map[int]int{}
	m := 0
	for p := 0; p < parts; p++ {
		n[Partition(p)]++
		m = max(m, n[Partition(p)]-1)
	}
	return m
}

func TestPlanRejectsBadCounts(t *testing.T) {
	for _, c := range [][2]int{{0, 1}, {Count + 1, 1}, {64, 0}, {64, 65}} {
		if _, err := Plan(c[0], c[1]); err == nil {
			t.Errorf("Plan(%d, %d) accepted", c[0], c[1])
		}
	}
}

func TestRanges(t *testing.T) {
	got := Ranges([]int{0, 1, 2, 5, 7, 8})
	want := [][2]int{{0, 2}, {5, 5}, {7, 8}}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%v, want %v", got, want)
		}
	}
}
