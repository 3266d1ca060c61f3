package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The cluster secret file: what lets the contract's minimal command lines
// (shared API.md: `shortstock origin --listen ... --admin-key ...`, then
// `shortstock edge --origin http://127.0.0.1:9090`, no secret flags) run
// with a token on the internal API all the same. Without --cluster-secret
// and --internal-insecure, a node whose addresses are all loopback ones
// (the origin's --listen, the edge's --origin hosts) reads the secret from
// defaultSecretFile, creating it on first use (32 random bytes, hex, mode
// 0600 in a 0700 directory). Co-located nodes of one user share it; another
// user of the machine, who could reach the loopback ports, cannot read it.
// --cluster-secret-file names another file (any address then: a mounted
// Kubernetes secret, say), which must exist.

// secretFileName is the default file under the user's config directory
// ($XDG_CONFIG_HOME, else ~/.config, on Linux).
const secretFileName = "shortstock/cluster-secret"

// defaultSecretFile is the path of the per-user default secret file.
func defaultSecretFile() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, secretFileName), nil
}

// readSecretFile reads a secret file: one line, checked like
// --cluster-secret, readable by its owner alone.
func readSecretFile(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("%s is readable by others (mode %04o): chmod 600 it", path, perm)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if err := checkClusterSecret(s); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// loadOrCreateSecretFile reads path, or creates it with a new secret if
// it does not exist. Nodes starting together race safely: the secret is
// written to a private temporary file and linked into place, and a node
// that loses the race reads the winner's.
func loadOrCreateSecretFile(path string) (secret string, created bool, err error) {
	s, err := readSecretFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return s, false, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", false, err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", false, err
	}
	tmp, err := os.CreateTemp(dir, ".cluster-secret-*")
	if err != nil {
		return "", false, err
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(hex.EncodeToString(raw) + "\n")
	if werr == nil {
		werr = tmp.Sync() // CreateTemp made it 0600
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return "", false, werr
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", false, err
	} else if err == nil {
		created = true
	}
	s, err = readSecretFile(path)
	return s, created, err
}
