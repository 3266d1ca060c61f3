package purgehook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Purge modes, as sent in X-Purge-Mode and the webhook's fields.
const (
	ModeHard    = "hard"
	ModeSoft    = "soft"
	ModeAllHard = "all-hard"
	ModeAllSoft = "all-soft"
)

// SignPURGE returns the X-Purge-Signature of a PURGE request: "0x" and the
// hex HMAC-SHA256 of "timestamp|nonce|mode|surrogate keys" (the keys space
// separated, as in the Surrogate-Key header), the form vmod_digest's
// hmac_sha256 computes in deploy/varnish/shortstock.vcl.
func SignPURGE(secret []byte, timestamp, nonce, mode, surrogateKeys string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp + "|" + nonce + "|" + mode + "|" + surrogateKeys))
	return "0x" + hex.EncodeToString(m.Sum(nil))
}

// SignWebhook returns the X-Shortstock-Signature of a webhook body:
// "sha256=" and the hex HMAC-SHA256 of "timestamp.body".
func SignWebhook(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Nonce returns 16 random hex digits.
func Nonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func mode(all, soft bool) string {
	switch {
	case all && soft:
		return ModeAllSoft
	case all:
		return ModeAllHard
	case soft:
		return ModeSoft
	}
	return ModeHard
}

func joinKeys(keys []string) string { return strings.Join(keys, " ") }
