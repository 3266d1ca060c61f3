package gossip

import (
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

func TestNewRejectsBadConfig(t *testing.T) {
	base := func() Config {
		c := DefaultLocalConfig("n")
		c.Region = "eu-west"
		c.SecretKeys = [][]byte{key1}
		c.Logger = testLogger()
		return c
	}
	cases := []struct {
		name string
		mod  func(*Config)
		want error
	}{
		{"no key", func(c *Config) { c.SecretKeys = nil }, ErrNoSecretKey},
		{"short key", func(c *Config) { c.SecretKeys = [][]byte{[]byte("short")} }, ErrInvalidKey},
		{"bad second key", func(c *Config) { c.SecretKeys = append(c.SecretKeys, make([]byte, 20)) }, ErrInvalidKey},
		{"insecure with key", func(c *Config) { c.Insecure = true }, ErrConfig},
		{"no name", func(c *Config) { c.NodeName = "" }, ErrConfig},
		{"long name", func(c *Config) { c.NodeName = string(make([]byte, 256)) }, ErrConfig},
		{"no region", func(c *Config) { c.Region = "" }, ErrConfig},
		{"bad region", func(c *Config) { c.Region = "eu west" }, ErrConfig},
		{"host name bind", func(c *Config) { c.BindAddr = "localhost" }, ErrConfig},
		{"bad advertise", func(c *Config) { c.AdvertiseAddr = "example.com" }, ErrConfig},
		{"port range", func(c *Config) { c.BindPort = 70000 }, ErrConfig},
		{"negative duration", func(c *Config) { c.GossipInterval = -time.Second }, ErrConfig},
		{"negative count", func(c *Config) { c.GossipNodes = -1 }, ErrConfig},
		{"probe timeout", func(c *Config) { c.ProbeTimeout = c.ProbeInterval }, ErrConfig},
		{"tiny packets", func(c *Config) { c.UDPBufferSize = 100 }, ErrConfig},
		{"direct push paced too slowly", func(c *Config) { c.DirectPushInterval = 2 * time.Second }, ErrConfig},
		{"empty join", func(c *Config) { c.Join = []string{""} }, ErrConfig},
		{"nil wrapper", func(c *Config) {
			c.WrapTransport = func(memberlist.NodeAwareTransport) memberlist.NodeAwareTransport { return nil }
		}, ErrConfig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.mod(&c)
			n, err := New(c)
			if err == nil {
				_ = n.Close()
				t.Fatal("New accepted the config")
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("New = %v, want %v", err, tc.want)
			}
		})
	}
	// The zero Config must be an error, not a panic.
	if _, err := New(Config{}); err == nil {
		t.Error("New(Config{}) succeeded")
	}
}

func TestNewFillsZeroValuesAndReportsPort(t *testing.T) {
	// A sparse Config: only what has no default.
	n, err := New(Config{NodeName: "sparse", Region: "r", BindAddr: "127.0.0.1", Insecure: true, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	if n.cfg.GossipInterval != DefaultLANConfig("").GossipInterval || n.cfg.DeliveryQueueSize != 4096 {
		t.Errorf("zero values not defaulted: %+v", n.cfg)
	}
	host, port, err := net.SplitHostPort(n.LocalAddr())
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("LocalAddr() = %q", n.LocalAddr())
	}
	if p, _ := strconv.Atoi(port); p == 0 {
		t.Errorf("LocalAddr reports port 0")
	}
}

func TestNewReportsBusyPort(t *testing.T) {
	a := startNode(t, "a", "test", nil)
	_, portStr, _ := net.SplitHostPort(a.LocalAddr())
	port, _ := strconv.Atoi(portStr)
	c := DefaultLocalConfig("b")
	c.Region, c.Insecure, c.Logger, c.BindPort = "test", true, testLogger(), port
	if n, err := New(c); !errors.Is(err, ErrConfig) {
		if n != nil {
			_ = n.Close()
		}
		t.Fatalf("New on a busy port = %v, want ErrConfig", err)
	}
}

func TestConfigKeysAreCopied(t *testing.T) {
	k := append([]byte(nil), key1...)
	n := startNode(t, "copy", "test", func(c *Config) { c.SecretKeys = [][]byte{k} })
	k[0] ^= 0xff
	ks, _ := n.Keys()
	if ks[0][0] == k[0] {
		t.Error("changing the caller's key bytes changed the node's key")
	}
}
