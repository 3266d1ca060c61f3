package keys

// MaxIDLen is the longest code, SKU or warehouse name accepted.
const MaxIDLen = 64

// ValidCode reports whether s is a link code: [A-Za-z0-9][A-Za-z0-9_-]{0,63}.
// It never allocates, so the edge calls it on the raw request path.
func ValidCode[T ~string | ~[]byte](s T) bool {
	if len(s) == 0 || len(s) > MaxIDLen || !alnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !alnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// ValidSKU reports whether s is a SKU: [A-Za-z0-9][A-Za-z0-9._:-]{0,63}.
func ValidSKU[T ~string | ~[]byte](s T) bool {
	if len(s) == 0 || len(s) > MaxIDLen || !alnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !alnum(c) && c != '.' && c != '_' && c != ':' && c != '-' {
			return false
		}
	}
	return true
}

// ValidWarehouse reports whether s is a warehouse name; it follows the SKU
// alphabet so warehouse names are safe in paths and storage keys.
func ValidWarehouse[T ~string | ~[]byte](s T) bool { return ValidSKU(s) }

func alnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
