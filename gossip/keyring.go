package gossip

import (
	"bytes"
	"fmt"

	"github.com/hashicorp/memberlist"
)

// Key rotation, one node at a time, with no window where members cannot
// read each other:
//
//  1. InstallKey(new) on every node: all can now decrypt with it.
//  2. UseKey(new) on every node: each starts encrypting with it; those not
//     yet switched still decrypt it (step 1).
//  3. RemoveKey(old) on every node.
//
// These change only this node's keyring; an operator (or the process that
// owns the nodes) applies each step everywhere before the next.

// InstallKey adds key to the keyring for decryption; the primary key is
// unchanged. Installing a key twice is a no-op.
func (n *Node) InstallKey(key []byte) error {
	if n.keyring == nil {
		return ErrNotEncrypted
	}
	if err := memberlist.ValidateKey(key); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	// The keyring keeps the slice it is given; the caller's must not be
	// able to change it later.
	if err := n.keyring.AddKey(bytes.Clone(key)); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return n.reloadSealer()
}

// UseKey makes an installed key the primary, which encrypts everything
// this node sends.
func (n *Node) UseKey(key []byte) error {
	if n.keyring == nil {
		return ErrNotEncrypted
	}
	if err := n.keyring.UseKey(key); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return n.reloadSealer()
}

// RemoveKey drops a key from the keyring. The primary key cannot be
// removed; removing a key that is not installed is a no-op.
func (n *Node) RemoveKey(key []byte) error {
	if n.keyring == nil {
		return ErrNotEncrypted
	}
	if err := n.keyring.RemoveKey(key); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return n.reloadSealer()
}

// Keys returns copies of the installed keys, the primary first.
func (n *Node) Keys() ([][]byte, error) {
	if n.keyring == nil {
		return nil, ErrNotEncrypted
	}
	ks := n.keyring.GetKeys()
	out := make([][]byte, len(ks))
	for i, k := range ks {
		out[i] = bytes.Clone(k)
	}
	return out, nil
}

// reloadSealer gives the direct packets' sealer the keyring as it now is.
func (n *Node) reloadSealer() error {
	if n.sealer == nil {
		return nil
	}
	if err := n.sealer.load(n.keyring); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return nil
}
