package gossip_test

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/shortstock/shortstock/gossip"
	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/keys"
)

// Two nodes of one region on loopback: b joins a, a publishes a change,
// b's Handler receives it.
func Example() {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	key := []byte("0123456789abcdef0123456789abcdef") // 32 bytes: AES-256

	ac := gossip.DefaultLocalConfig("a")
	ac.Region, ac.SecretKeys, ac.Logger = "eu", [][]byte{key}, quiet
	a, err := gossip.New(ac)
	if err != nil {
		panic(err)
	}
	defer a.Close()

	got := make(chan change.Change, 1)
	bc := gossip.DefaultLocalConfig("b")
	bc.Region, bc.SecretKeys, bc.Logger = "eu", [][]byte{key}, quiet
	bc.Join = []string{a.LocalAddr()}
	bc.Handler = gossip.HandlerFunc(func(c change.Change) {
		select {
		case got <- c:
		default:
		}
	})
	b, err := gossip.New(bc)
	if err != nil {
		panic(err)
	}
	defer b.Close()

	for deadline := time.Now().Add(10 * time.Second); a.NumMembers() < 2; {
		if time.Now().After(deadline) {
			panic("b did not join")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := a.Publish(change.Change{Partition: keys.DefaultSpace().Partition(keys.KindLink, "abc1234"), Seq: 1, Key: keys.Key(keys.KindLink, "abc1234"), Version: 7}); err != nil {
		panic(err)
	}
	select {
	case c := <-got:
		fmt.Println("b received", c.Key, "version", c.Version)
	case <-time.After(10 * time.Second):
		fmt.Println("nothing arrived")
	}
	// Output: b received l:abc1234 version 7
}
