package keys

import (
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
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

// MaxReservationIDLen is the length of the longest reservation ID: "r", a
// partition below MaxPartitions (up to 5 digits), "_" and the random part.
const MaxReservationIDLen = 7 + ReservationIDLen

// NewReservationID returns an unguessable reservation ID that carries the
// partition of the SKU it reserves ("r17_<20 base62>", at least two digits:
// "r1023_..." in a store of 1024 partitions), so a backend can find
// the reservation's partition from its ID alone, without a cross-partition
// lookup.
func NewReservationID(partition int) string {
	return fmt.Sprintf("r%02d_%s", partition, RandomCode(ReservationIDLen))
}

// ReservationPartition returns the partition encoded in a reservation ID, or
// an error if the ID is not one that NewReservationID makes. The partition is
// below MaxPartitions; the caller checks it against its store's Space.
func ReservationPartition(id string) (int, error) {
	// "r" + 2 to 5 digits + "_" + ReservationIDLen alphanumerics.
	u := strings.IndexByte(id, '_')
	if u < 3 || u > 6 || len(id) != u+1+ReservationIDLen || id[0] != 'r' {
		return 0, fmt.Errorf("malformed reservation id %q", id)
	}
	for i := 1; i < u; i++ {
		if id[i] < '0' || id[i] > '9' || (i == 1 && u > 3 && id[i] == '0') {
			return 0, fmt.Errorf("malformed reservation id %q", id)
		}
	}
	p, err := strconv.Atoi(id[1:u])
	if err != nil || p < 0 || p >= MaxPartitions {
		return 0, fmt.Errorf("malformed reservation id %q", id)
	}
	for i := u + 1; i < len(id); i++ {
		if !alnum(id[i]) {
			return 0, fmt.Errorf("malformed reservation id %q", id)
		}
	}
	return p, nil
}
