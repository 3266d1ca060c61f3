package slicer

import (
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// spin does about d of work without touching the scheduler.
func spin(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
	}
}

// A loop that Ticks pauses once per slice of Work, not on every Tick, and
// not before a slice has run.
func TestPausesOncePerSlice(t *testing.T) {
	// Fast items: no slice is full yet. The slice is an hour long here so
	// that a busy machine's scheduling delay cannot fill it (a 1 ms slice
	// did, once, under a parallel test run).
	s := Slicer{Work: time.Hour, Pause: time.Microsecond}
	for range checkEvery * 3 {
		s.Tick()
	}
	if s.Pauses != 0 {
		t.Fatalf("%d pauses after %d fast items", s.Pauses, checkEvery*3)
	}
	s.Work = time.Millisecond
	for range 20 {
		spin(2 * time.Millisecond)
		for range checkEvery {
			s.Tick()
		}
	}
	// ~40 ms of work in 1 ms slices: a pause per slice, give or take the
	// items it takes to notice.
	if s.Pauses < 5 || s.Pauses > 40 {
		t.Fatalf("%d pauses for ~40 ms of work in 1 ms slices", s.Pauses)
	}
}

// The guarantee: with one processor, a long loop paced by a Slicer lets
// network I/O through between its slices. Measured as loopback round trips
// completed while the loop runs: with the pauses a hundred at least;
// yielding with runtime.Gosched instead lets through only what sysmon's
// 10 ms polls find (about ten in the same time).
func TestLetsNetworkThroughOnOneProcessor(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	echoed := make(chan struct{})
	go func() {
		defer close(echoed)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	var trips atomic.Int64
	var loopDone atomic.Bool
	pinged := make(chan struct{})
	go func() {
		defer close(pinged)
		b := []byte{1}
		for !loopDone.Load() {
			if _, err := c.Write(b); err != nil {
				return
			}
			if _, err := io.ReadFull(c, b); err != nil {
				return
			}
			trips.Add(1)
		}
	}()
	// Let the ping-pong start, then run ~100 ms of work in slices.
	for deadline := time.Now().Add(10 * time.Second); trips.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no round trip before the loop")
		}
		time.Sleep(time.Millisecond)
	}
	before := trips.Load()
	var s Slicer
	for range 1000 {
		spin(100 * time.Microsecond)
		for range checkEvery {
			s.Tick()
		}
	}
	during := trips.Load() - before
	loopDone.Store(true)
	c.Close()
	<-pinged
	ln.Close()
	<-echoed
	if during < 100 {
		t.Fatalf("%d round trips completed during ~100 ms of sliced work (%d pauses), want hundreds", during, s.Pauses)
	}
	t.Logf("%d round trips during the loop, %d pauses", during, s.Pauses)
}
