package testutil

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// WriteMMDB writes a MaxMind DB (format 2.0, IPv4 tree, 24-bit
// records) mapping each network to {"country":{"iso_code":ISO}}, the
// shape of GeoLite2 Country. mmdbwriter is not available to this build,
// and the format is small: a binary search tree over the address bits, a
// data section, and a metadata map (MaxMind DB File Format Specification).
func WriteMMDB(t testing.TB, networks map[string]string) string {
	t.Helper()
	type node struct{ rec [2]int } // >= 0: node index; -1: empty; <= -2: -(data index)-2
	nodes := []node{{rec: [2]int{-1, -1}}}
	var data bytes.Buffer
	offsets := map[string]int{}
	var dataAt []int
	for cidr, iso := range networks {
		p := netip.MustParsePrefix(cidr)
		off, ok := offsets[iso]
		if !ok {
			off = data.Len()
			offsets[iso] = off
			data.Write(mmdbMap(1))
			data.Write(mmdbString("country"))
			data.Write(mmdbMap(1))
			data.Write(mmdbString("iso_code"))
			data.Write(mmdbString(iso))
		}
		dataAt = append(dataAt, off)
		a := p.Addr().As4()
		bits := binary.BigEndian.Uint32(a[:])
		n := 0
		for i := 0; i < p.Bits(); i++ {
			b := int(bits>>(31-i)) & 1
			if i == p.Bits()-1 {
				nodes[n].rec[b] = -(len(dataAt) - 1) - 2
				break
			}
			if nodes[n].rec[b] < 0 {
				nodes = append(nodes, node{rec: [2]int{-1, -1}})
				nodes[n].rec[b] = len(nodes) - 1
			}
			n = nodes[n].rec[b]
		}
	}
	count := len(nodes)
	var out bytes.Buffer
	put24 := func(v int) { out.Write([]byte{byte(v >> 16), byte(v >> 8), byte(v)}) }
	for _, nd := range nodes {
		for _, r := range nd.rec {
			switch {
			case r >= 0:
				put24(r)
			case r == -1:
				put24(count) // no data
			default:
				put24(count + 16 + dataAt[-r-2])
			}
		}
	}
	out.Write(make([]byte, 16)) // data section separator
	out.Write(data.Bytes())
	out.WriteString("\xab\xcd\xefMaxMind.com")
	out.Write(mmdbMap(9))
	for _, kv := range []struct {
		k string
		v []byte
	}{
		{"node_count", mmdbUint(6, uint64(count))},
		{"record_size", mmdbUint(5, 24)},
		{"ip_version", mmdbUint(5, 4)},
		{"database_type", mmdbString("Shortstock-Test-Country")},
		{"languages", []byte{0x00, 0x04}}, // an empty array (extended type 11)
		{"binary_format_major_version", mmdbUint(5, 2)},
		{"binary_format_minor_version", mmdbUint(5, 0)},
		{"build_epoch", append([]byte{0x08, 0x02}, 0, 0, 0, 0, 0x65, 0, 0, 0)}, // uint64 (extended type 9), 8 bytes
		{"description", mmdbMap(0)},
	} {
		out.Write(mmdbString(kv.k))
		out.Write(kv.v)
	}
	path := filepath.Join(t.TempDir(), "test-country.mmdb")
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mmdbString(s string) []byte { return append([]byte{2<<5 | byte(len(s))}, s...) } // len < 29
func mmdbMap(n int) []byte       { return []byte{7<<5 | byte(n)} }
func mmdbUint(typ byte, v uint64) []byte {
	var b []byte
	for ; v > 0; v >>= 8 {
		b = append([]byte{byte(v)}, b...)
	}
	return append([]byte{typ<<5 | byte(len(b))}, b...)
}
