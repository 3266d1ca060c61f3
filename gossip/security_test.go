package gossip

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// TestForeignNodeIsShutOut starts a 3-node encrypted region and, for each
// way of not belonging (wrong key, no key, another region), a node that
// tries to join it and to send it messages: it must neither join nor get
// anything delivered, in either direction.
func TestForeignNodeIsShutOut(t *testing.T) {
	cases := []struct {
		name   string
		region string
		mod    func(*Config)
	}{
		{"wrong-key", "test", func(c *Config) { c.SecretKeys = [][]byte{key2} }},
		{"insecure", "test", func(c *Config) { c.SecretKeys = nil; c.Insecure = true }},
		{"other-region", "elsewhere", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nodes := startCluster(t, 3, nil)
			foreign := startNode(t, "intruder", tc.region, func(c *Config) {
				c.Join = []string{nodes[0].LocalAddr()} // New must not fail: it retries in the background
				if tc.mod != nil {
					tc.mod(c)
				}
			})
			if _, err := foreign.Join([]string{nodes[1].LocalAddr()}); !errors.Is(err, ErrJoin) {
				t.Errorf("foreign Join = %v, want ErrJoin", err)
			}

			// Both directions of gossip, plus direct packets from the
			// intruder (which knows the addresses) to every member.
			if err := nodes[0].Publish(linkChange("inside", 1)); err != nil {
				t.Fatal(err)
			}
			if err := foreign.Publish(linkChange("outside", 1)); err != nil {
				t.Fatal(err)
			}
			fml := foreign.ml.Load()
			for _, n := range nodes {
				msg := appendChangeMessage(nil, linkChange("direct", 1))
				if err := fml.SendToAddress(memberlist.Address{Addr: n.LocalAddr(), Name: n.Name()}, msg); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, 2*time.Second, "members got the inside change", func() bool {
				return nodes[1].rec.version("l:inside") == 1 && nodes[2].rec.version("l:inside") == 1
			})
			time.Sleep(700 * time.Millisecond) // several rejoin attempts and gossip rounds

			if got := foreign.rec.count(); got != 0 {
				t.Errorf("intruder's handler was called %d times", got)
			}
			if got := foreign.NumMembers(); got != 1 {
				t.Errorf("intruder sees %d members, want 1", got)
			}
			for i, n := range nodes {
				if got := n.NumMembers(); got != 3 {
					t.Errorf("member %d sees %d members, want 3", i, got)
				}
				if v := n.rec.version("l:outside"); v != 0 {
					t.Errorf("member %d got the intruder's published change", i)
				}
				if v := n.rec.version("l:direct"); v != 0 {
					t.Errorf("member %d got the intruder's direct message", i)
				}
				if s := n.Stats(); s.DroppedMalformed != 0 {
					t.Errorf("member %d decoded intruder bytes as messages: %+v", i, s)
				}
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	publishAndWait := func(id string, v uint64) {
		t.Helper()
		c := linkChange(id, v)
		if err := nodes[0].Publish(c); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 3*time.Second, "change "+id+" reached all members", func() bool {
			return nodes[1].rec.version(c.Key) == v && nodes[2].rec.version(c.Key) == v
		})
	}
	step := func(what string, f func(*Node) error) {
		t.Helper()
		for i, n := range nodes {
			if err := f(n.Node); err != nil {
				t.Fatalf("%s on node %d: %v", what, i, err)
			}
		}
	}

	step("InstallKey", func(n *Node) error { return n.InstallKey(key2) })
	publishAndWait("after-install", 1)
	step("UseKey", func(n *Node) error { return n.UseKey(key2) })
	publishAndWait("after-use", 1)
	step("RemoveKey", func(n *Node) error { return n.RemoveKey(key1) })
	publishAndWait("after-remove", 1)

	ks, err := nodes[1].Keys()
	if err != nil || len(ks) != 1 || !bytes.Equal(ks[0], key2) {
		t.Fatalf("Keys() = %x, %v; want only the new key", ks, err)
	}
	if err := nodes[0].RemoveKey(key2); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("removing the primary key = %v, want ErrInvalidKey", err)
	}
	if err := nodes[0].UseKey(key1); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("using a removed key = %v, want ErrInvalidKey", err)
	}
	if err := nodes[0].InstallKey([]byte("short")); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("installing a 5-byte key = %v, want ErrInvalidKey", err)
	}

	// The old key no longer opens the pool; the new one does.
	old := startNode(t, "old-key", "test", nil)
	if _, err := old.Join([]string{nodes[0].LocalAddr()}); err == nil {
		t.Error("a node with only the removed key joined")
	}
	fresh := startNode(t, "new-key", "test", func(c *Config) { c.SecretKeys = [][]byte{key2} })
	if _, err := fresh.Join([]string{nodes[0].LocalAddr()}); err != nil {
		t.Fatalf("a node with the new key cannot join: %v", err)
	}
	waitFor(t, 3*time.Second, "the new node is seen by all", func() bool {
		return nodes[0].NumMembers() == 4 && nodes[2].NumMembers() == 4 && fresh.NumMembers() == 4
	})
	publishAndWait("after-join", 1)
	waitFor(t, 3*time.Second, "the new node got the change", func() bool { return fresh.rec.version("l:after-join") == 1 })
	// Direct packets followed every step: none was refused (sealed.go
	// reloads its ciphers with the keyring; a node holding only the new
	// key refuses packets still sealed under the old one).
	for i, n := range append(nodes, fresh) {
		if s := n.Stats(); s.DroppedUnauthenticated != 0 {
			t.Errorf("node %d refused %d sealed packets during the rotation", i, s.DroppedUnauthenticated)
		}
	}
}

func TestKeyringOnInsecureNode(t *testing.T) {
	n := startNode(t, "plain", "test", func(c *Config) { c.SecretKeys = nil; c.Insecure = true })
	if err := n.InstallKey(key1); !errors.Is(err, ErrNotEncrypted) {
		t.Errorf("InstallKey on an insecure node = %v, want ErrNotEncrypted", err)
	}
	if _, err := n.Keys(); !errors.Is(err, ErrNotEncrypted) {
		t.Errorf("Keys on an insecure node = %v, want ErrNotEncrypted", err)
	}
}
