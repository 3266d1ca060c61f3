package keys

import (
	"crypto/rand"
	"fmt"
	"strconv"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// RandomCode returns n characters of [A-Za-z0-9] from crypto/rand, without
// modulo bias, for generated link codes and reservation IDs.
func RandomCode(n int) string {
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		if _, err := rand.Read(buf[:]); err != nil {
			panic("keys: crypto/rand failed: " + err.Error()) // unrecoverable: the OS has no entropy source
		}
		for _, b := range buf {
			if b < 248 { // 248 = 4*62: reject the rest to stay uniform
				out = append(out, base62[b%62])
				if len(out) == n {
					break
				}
			}
		}
	}
	return string(out)
}

// ReservationIDLen is the length of the random part of a reservation ID.
const ReservationIDLen = 20

// NewReservationID returns an unguessable reservation ID that carries the
// partition of the SKU it reserves ("r17_<20 base62>"), so a backend can find
// the reservation's partition from its ID alone, without a cross-partition
// lookup.
func NewReservationID(partition int) string {
	return fmt.Sprintf("r%02d_%s", partition, RandomCode(ReservationIDLen))
}

// ReservationPartition returns the partition encoded in a reservation ID, or
// an error if the ID is not one that NewReservationID makes.
func ReservationPartition(id string) (int, error) {
	if len(id) != 4+ReservationIDLen || id[0] != 'r' || id[3] != '_' {
		return 0, fmt.Errorf("malformed reservation id %q", id)
	}
	p, err := strconv.Atoi(id[1:3])
	if err != nil || p < 0 || p >= Partitions {
		return 0, fmt.Errorf("malformed reservation id %q", id)
	}
	for i := 4; i < len(id); i++ {
		if !alnum(id[i]) {
			return 0, fmt.Errorf("malformed reservation id %q", id)
		}
	}
	return p, nil
}
