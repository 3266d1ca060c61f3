package adminsec

import (
	"sort"
	"strings"
	"unicode"

	"github.com/shortstock/shortstock/origin/store"
)

// FlagIDNHomograph marks a link whose host may impersonate another: a
// label mixing scripts ("pаypal" with a Cyrillic а), or an all-Cyrillic
// label made only of letters that look Latin ("аррӏе") under a Latin
// top-level domain. It appears in the link's "flags".
const FlagIDNHomograph = "idn_homograph"

// scriptNames lists unicode.Scripts in a fixed order, commonest in hosts
// first, so a lookup is short and deterministic.
var scriptNames = func() []string {
	first := []string{"Latin", "Cyrillic", "Greek", "Han", "Hiragana", "Katakana", "Hangul", "Arabic", "Hebrew", "Thai", "Devanagari", "Armenian", "Georgian", "Bopomofo"}
	seen := map[string]bool{"Common": true, "Inherited": true}
	for _, n := range first {
		seen[n] = true
	}
	var rest []string
	for n := range unicode.Scripts {
		if !seen[n] {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	return append(first, rest...)
}()

// scriptOf names r's script; "" for Common and Inherited (digits, '-',
// combining marks), which go with any script.
func scriptOf(r rune) string {
	if r < 0x80 {
		if r|0x20 >= 'a' && r|0x20 <= 'z' {
			return "Latin"
		}
		return ""
	}
	if unicode.Is(unicode.Common, r) || unicode.Is(unicode.Inherited, r) {
		return ""
	}
	for _, n := range scriptNames {
		if unicode.Is(unicode.Scripts[n], r) {
			return n
		}
	}
	return "Unknown"
}

// cjkSets are the script mixes one language writes in, after UTS #39's
// "highly restrictive" level: Japanese, Chinese (with Bopomofo) and Korean
// mix Han, their own scripts and Latin legitimately.
var cjkSets = []map[string]bool{
	{"Latin": true, "Han": true, "Hiragana": true, "Katakana": true},
	{"Latin": true, "Han": true, "Bopomofo": true},
	{"Latin": true, "Han": true, "Hangul": true},
}

// mixedScripts reports whether a label uses letters of more than one
// script, beyond the mixes in cjkSets.
func mixedScripts(label string) bool {
	scripts := map[string]bool{}
	for _, r := range label {
		if s := scriptOf(r); s != "" {
			scripts[s] = true
		}
	}
	if len(scripts) < 2 {
		return false
	}
	for _, set := range cjkSets {
		inside := true
		for s := range scripts {
			inside = inside && set[s]
		}
		if inside {
			return false
		}
	}
	return true
}

// latinLookalikes are Cyrillic letters that render like Latin ones in
// common fonts (after the mapping to lower case). A label of only these
// reads as a Latin word: "аррӏе" is apple.
const latinLookalikes = "асԁеһіјӏорԛѕԝхуүҽпгѵѡъь"

// cyrillicLookalike reports whether label is all Cyrillic letters that
// look Latin (digits and '-' aside), with at least one letter.
func cyrillicLookalike(label string) bool {
	letters := 0
	for _, r := range label {
		switch {
		case scriptOf(r) == "":
		case strings.ContainsRune(latinLookalikes, r):
			letters++
		default:
			return false
		}
	}
	return letters > 0
}

// isHomograph judges a host in U-label form. Mixed scripts within a label
// are suspicious anywhere; a whole-script Cyrillic lookalike only under a
// top-level domain written in Latin, where a Cyrillic reader is not the
// expected audience (this is what browsers do before showing punycode).
func isHomograph(unicodeHost string) bool {
	if store.IsASCII(unicodeHost) {
		return false
	}
	labels := strings.Split(unicodeHost, ".")
	tld := labels[len(labels)-1]
	latinTLD := store.IsASCII(tld) && !strings.HasPrefix(tld, "xn--")
	for _, l := range labels {
		if mixedScripts(l) || (latinTLD && cyrillicLookalike(l)) {
			return true
		}
	}
	return false
}
