package edge

import (
	"net"
	"testing"
	"time"
)

// BenchmarkRequestDeadlines is what one keep-alive request costs in
// deadlines: fasthttp's three (idle read, read, write; a time.Now and a
// runtime timer update each) against a TimeoutListener connection's
// three phase changes (an atomic store and load each).
func BenchmarkRequestDeadlines(b *testing.B) {
	t := ConnTimeouts{Read: 5 * time.Second, Write: 5 * time.Second, Idle: time.Minute, Resolution: 100 * time.Millisecond}
	b.Run("exact", func(b *testing.B) {
		_, server, _ := timeoutPair(b, t)
		c := server.Conn // the TCP connection itself
		b.ReportAllocs()
		for b.Loop() {
			_ = c.SetReadDeadline(time.Now().Add(t.Idle))
			_ = c.SetReadDeadline(time.Now().Add(t.Read))
			_ = c.SetWriteDeadline(time.Now().Add(t.Write))
		}
	})
	b.Run("coarse", func(b *testing.B) {
		l, server, _ := timeoutPair(b, t)
		b.ReportAllocs()
		for b.Loop() {
			_ = server.dl.set(l.deadline(t.Idle), timeoutIdle, server.Conn.SetDeadline)
			_ = server.dl.set(l.deadline(t.Read), timeoutRead, server.Conn.SetDeadline)
			_ = server.dl.set(l.deadline(t.Write), timeoutWrite, server.Conn.SetDeadline)
		}
	})
}

var _ net.Conn = (*timeoutConn)(nil)
