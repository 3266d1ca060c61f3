// Package slots maps shortstock's storage partitions onto Redis Cluster hash
// slots, and plans an even assignment of those slots to N shards.
//
// Every Redis key of partition p carries the hash tag "{p<p>}", so the
// partition lives in exactly one slot: CRC16("p<p>") mod 16384. A shard's
// load is the number of partitions whose slots it owns, not the number of
// slots: Plan balances partitions (within one) and spreads the slots no
// partition uses in contiguous ranges so the cluster covers all 16384.
package slots

import (
	"fmt"
	"strconv"
)

// Count is the number of Redis Cluster hash slots.
const Count = 16384

// crc16 is CRC-16/XMODEM (poly 0x1021, init 0), the checksum Redis Cluster
// hashes keys with.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for b := 0; b < 8; b++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// Key returns the hash slot of a Redis key, honouring the first non-empty
// {...} hash tag as Redis does.
func Key(key string) int {
	for i := 0; i < len(key); i++ {
		if key[i] != '{' {
			continue
		}
		for j := i + 1; j < len(key); j++ {
			if key[j] == '}' {
				if j > i+1 {
					key = key[i+1 : j]
				}
				return int(crc16(key)) % Count
			}
		}
		break
	}
	return int(crc16(key)) % Count
}

// Partition returns the hash slot that holds every key of partition p.
func Partition(p int) int { return Key("{p" + strconv.Itoa(p) + "}") }

// Shard is one shard's share of a Plan.
type Shard struct {
	Partitions []int // partitions whose keys this shard holds
	Slots      []int // every slot it owns, ascending
}

// Plan assigns all Count slots to shards so that each shard holds the same
// number of the first partitions partitions, give or take one (partitions
// whose tags share a slot move together and count twice). Slots no
// partition uses go to shards in contiguous ranges.
func Plan(partitions, shards int) ([]Shard, error) {
	if partitions < 1 || partitions > Count {
		return nil, fmt.Errorf("slots: partitions %d out of range 1..%d", partitions, Count)
	}
	if shards < 1 || shards > partitions {
		return nil, fmt.Errorf("slots: shards %d out of range 1..%d (the partition count)", shards, partitions)
	}
	owner := make([]int, Count)
	for i := range owner {
		owner[i] = -1
	}
	bySlot := map[int][]int{}
	var order []int // used slots, in order of first partition
	for p := 0; p < partitions; p++ {
		s := Partition(p)
		if bySlot[s] == nil {
			order = append(order, s)
		}
		bySlot[s] = append(bySlot[s], p)
	}
	plan := make([]Shard, shards)
	// Heaviest slots first, each to the least loaded shard: balanced within
	// one partition when no two partitions share a slot.
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && len(bySlot[order[j]]) > len(bySlot[order[j-1]]); j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	for _, s := range order {
		best := 0
		for i := range plan {
			if len(plan[i].Partitions) < len(plan[best].Partitions) {
				best = i
			}
		}
		owner[s] = best
		plan[best].Partitions = append(plan[best].Partitions, bySlot[s]...)
	}
	for s := 0; s < Count; s++ {
		if owner[s] < 0 {
			owner[s] = s * shards / Count
		}
		plan[owner[s]].Slots = append(plan[owner[s]].Slots, s)
	}
	return plan, nil
}

// Ranges compresses ascending slots into inclusive [start, end] pairs, the
// argument form of CLUSTER ADDSLOTSRANGE.
func Ranges(slots []int) [][2]int {
	var out [][2]int
	for _, s := range slots {
		if n := len(out); n > 0 && out[n-1][1]+1 == s {
			out[n-1][1] = s
			continue
		}
		out = append(out, [2]int{s, s})
	}
	return out
}
