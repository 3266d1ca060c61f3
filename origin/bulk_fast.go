package origin

// fastBulkLine parses the common shape of a bulk line without
// encoding/json: one flat object whose keys are bulkLine's exact field
// names, each at most once, with plain printable-ASCII strings (no
// escapes) and integers of at most 18 digits. Anything else (escapes,
// unicode, null, floats, unknown, duplicate or miscased keys, nesting,
// trailing data) returns ok = false and the caller falls back to
// decodeStrict, which accepts or refuses it with its usual message. So
// this is only a shortcut: FuzzFastBulkLine checks that whatever it
// accepts, decodeStrict accepts with the same result. It exists because a
// million-line body through decodeStrict costs about 13 µs a line.
func fastBulkLine(b []byte) (req bulkLine, ok bool) {
	i := 0
	ws := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
			i++
		}
	}
	str := func() (string, bool) {
		if i >= len(b) || b[i] != '"' {
			return "", false
		}
		i++
		start := i
		for i < len(b) && b[i] != '"' {
			if c := b[i]; c < 0x20 || c > 0x7e || c == '\\' {
				return "", false
			}
			i++
		}
		if i >= len(b) {
			return "", false
		}
		s := string(b[start:i])
		i++
		return s, true
	}
	num := func() (int64, bool) {
		neg := i < len(b) && b[i] == '-'
		if neg {
			i++
		}
		start := i
		var n int64
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			n = n*10 + int64(b[i]-'0')
			i++
		}
		d := i - start
		if d == 0 || d > 18 || (d > 1 && b[start] == '0') {
			return 0, false
		}
		if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
			return 0, false
		}
		if neg {
			n = -n
		}
		return n, true
	}
	var seen uint16
	ws()
	if i >= len(b) || b[i] != '{' {
		return req, false
	}
	i++
	ws()
	if i < len(b) && b[i] == '}' {
		i++
		ws()
		return req, i == len(b)
	}
	for {
		ws()
		key, ok := str()
		if !ok {
			return req, false
		}
		ws()
		if i >= len(b) || b[i] != ':' {
			return req, false
		}
		i++
		ws()
		var sp **string
		var np **int64
		var bit uint16
		switch key {
		case "op":
			sp, bit = &req.Op, 1
		case "sku":
			sp, bit = &req.SKU, 2
		case "warehouse":
			sp, bit = &req.Warehouse, 4
		case "from":
			sp, bit = &req.From, 8
		case "to":
			sp, bit = &req.To, 16
		case "reason":
			sp, bit = &req.Reason, 32
		case "ref":
			sp, bit = &req.Ref, 64
		case "on_hand":
			np, bit = &req.OnHand, 128
		case "delta":
			np, bit = &req.Delta, 256
		case "qty":
			np, bit = &req.Qty, 512
		default:
			return req, false
		}
		if seen&bit != 0 {
			return req, false
		}
		seen |= bit
		if sp != nil {
			s, ok := str()
			if !ok {
				return req, false
			}
			*sp = &s
		} else {
			n, ok := num()
			if !ok {
				return req, false
			}
			*np = &n
		}
		ws()
		if i >= len(b) {
			return req, false
		}
		if b[i] == ',' {
			i++
			continue
		}
		if b[i] != '}' {
			return req, false
		}
		i++
		ws()
		return req, i == len(b)
	}
}
