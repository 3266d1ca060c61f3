// Package adminsec is the origin admin API's security: admin keys and
// their scopes (kept as SHA-256 digests only), the per-IP and per-key rate
// limits, the client address behind trusted proxies, and the policy on
// where links may point (private targets, own domains, IDN homographs).
//
// It owns no HTTP routes: package origin wires these pieces in front of
// its handlers, so the admin server reads as routes plus handlers. It
// imports origin/store (for URL syntax) and the standard library only.
package adminsec
