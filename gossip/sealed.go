package gossip

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"sync"

	"github.com/hashicorp/memberlist"
)

// Direct packets are sealed here, not by memberlist. memberlist builds a
// new AES cipher and GCM for every packet it sends or receives
// (encryptPayload/decryptPayload), and the publisher's direct loop sends
// one packet per member per batch of changes: at 200 writes a second over
// ten edges that was ~1.3 KB of garbage and two key expansions per packet,
// 17 % of what a 3 x 10 bench allocated. A sealed direct packet is built
// once per batch with AEADs made once per key, and goes to every member as
// it is; receivers open it with AEADs made once per key too.
//
// The keys are the keyring's (the same SecretKeys, rotated with the same
// InstallKey/UseKey/RemoveKey). The region's label is authenticated as
// additional data, as memberlist does with its label, so a pool with the
// same keys in another region cannot feed changes into this one. A node
// without the key, or of another region, gets its packets dropped and
// counted (Stats.DroppedUnauthenticated), never decoded.
//
// Layout: directSealedMagic, a 12-byte random nonce, then the AES-GCM
// ciphertext of the direct message with its 16-byte tag. The magic byte
// is one memberlist never starts a packet with (its message types are
// small numbers, its label header 244), so the receive side tells the two
// apart by the first byte.
const (
	directSealedMagic    byte = 0xd5
	directSealedOverhead      = 1 + 12 + 16
)

// sealedAADPrefix starts the additional data of every sealed packet; the
// region's label follows.
const sealedAADPrefix = "shortstock gossip direct v1\x00"

// directSealer seals and opens direct packets with the keyring's keys.
type directSealer struct {
	aad []byte

	mu  sync.RWMutex
	all []cipher.AEAD // the keyring's, primary first
}

func newDirectSealer(kr *memberlist.Keyring, label string) (*directSealer, error) {
	s := &directSealer{aad: append([]byte(sealedAADPrefix), label...)}
	return s, s.load(kr)
}

// load rebuilds the AEADs from the keyring: after every change to it.
func (s *directSealer) load(kr *memberlist.Keyring) error {
	keys := kr.GetKeys() // primary first
	all := make([]cipher.AEAD, 0, len(keys))
	for _, k := range keys {
		block, err := aes.NewCipher(k)
		if err != nil {
			return err
		}
		g, err := cipher.NewGCM(block)
		if err != nil {
			return err
		}
		all = append(all, g)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = all
	return nil
}

// seal appends to dst the sealed packet of msg under the primary key.
func (s *directSealer) seal(dst, msg []byte) []byte {
	s.mu.RLock()
	g := s.all[0] // a keyring always has its primary key
	s.mu.RUnlock()
	dst = append(dst, directSealedMagic)
	var nonce [12]byte
	_, _ = rand.Read(nonce[:]) // crypto/rand.Read never fails
	dst = append(dst, nonce[:]...)
	return g.Seal(dst, nonce[:], msg, s.aad)
}

// open returns the message sealed in pkt and whether a key of the
// keyring opened it with this region's label. With one key it opens in
// place (pkt's bytes are overwritten); with several (during a rotation)
// into a buffer of its own, since a failed Open may clear its output and
// the next key needs the ciphertext intact.
func (s *directSealer) open(pkt []byte) ([]byte, bool) {
	if len(pkt) < directSealedOverhead || pkt[0] != directSealedMagic {
		return nil, false
	}
	nonce, ct := pkt[1:13], pkt[13:]
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.all) == 1 {
		msg, err := s.all[0].Open(ct[:0], nonce, ct, s.aad)
		return msg, err == nil
	}
	out := make([]byte, 0, len(ct))
	for _, g := range s.all {
		if msg, err := g.Open(out, nonce, ct, s.aad); err == nil {
			return msg, true
		}
	}
	return nil, false
}

// sealedReceiver is the transport memberlist reads when direct packets
// are sealed: the node's receive loop takes every inbound packet, opens
// and handles the sealed ones itself and passes the rest on. It sits on
// top of the other transports (faults, stopping), so what they drop never
// reaches it.
type sealedReceiver struct {
	memberlist.NodeAwareTransport
	ch chan *memberlist.Packet
}

// PacketCh implements memberlist.Transport.
func (r *sealedReceiver) PacketCh() <-chan *memberlist.Packet { return r.ch }

// receiveLoop runs until the transports below are down (recvStop, closed
// by Shutdown after memberlist's): sealed direct packets are handled here,
// every other packet goes on to memberlist. Once the node is closing it
// keeps draining and drops what it reads: the transport's listener blocks
// on an unread channel and would never see its socket close.
func (n *Node) receiveLoop(in <-chan *memberlist.Packet, out chan<- *memberlist.Packet) {
	defer n.wg.Done()
	for {
		var p *memberlist.Packet
		select {
		case <-n.recvStop:
			return
		case q, ok := <-in:
			if !ok {
				return
			}
			p = q
		}
		if n.closed.Load() {
			continue
		}
		if len(p.Buf) > 0 && p.Buf[0] == directSealedMagic {
			n.receiveSealed(p.Buf)
			continue
		}
		select {
		case out <- p:
		case <-n.done:
		case <-n.recvStop:
			return
		}
	}
}

// receiveSealed opens a sealed direct packet and handles its changes as
// memberlist's NotifyMsg would a direct message. A packet no key opens
// for this region is dropped and counted, never decoded; an opened one
// must hold a direct message.
func (n *Node) receiveSealed(pkt []byte) {
	msg, ok := n.sealer.open(pkt)
	if !ok {
		n.stats.unauthenticated.Add(1)
		n.log.Debug("gossip: dropped a sealed packet no key opens", "bytes", len(pkt))
		return
	}
	if len(msg) == 0 || msg[0] != msgDirectChanges {
		n.stats.malformed.Add(1)
		return
	}
	n.handleMsg(msg)
}

// sendSealed seals msg once and sends it to every member.
func (n *Node) sendSealed(members []memberlist.Node, msg []byte) {
	n.sealedBuf = n.sealer.seal(n.sealedBuf[:0], msg)
	for i := range members {
		a := memberlist.Address{Addr: members[i].Address(), Name: members[i].Name}
		if _, err := n.stopper.WriteToAddress(n.sealedBuf, a); err != nil {
			n.stats.directFailed.Add(1)
			continue
		}
		n.stats.directSent.Add(1)
	}
}
