package storetest

import (
	"testing"

	"github.com/shortstock/shortstock/origin/store"
)

func testPingAndClose(t *testing.T, s store.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping of a fresh store: %v", err)
	}
	mustCreate(t, s, newLink("cls", "https://example.com/c"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// After Close everything fails (store.ErrClosed is preferred, any
	// error will do); nothing may panic.
	if err := s.Ping(t.Context()); err == nil {
		t.Fatal("Ping after Close: no error")
	}
	if _, err := s.GetLink(t.Context(), "cls"); err == nil {
		t.Fatal("GetLink after Close: no error")
	}
	if _, err := s.CreateLink(t.Context(), newLink("cls2", "https://example.com/c2")); err == nil {
		t.Fatal("CreateLink after Close: no error")
	}
	if _, err := s.SetStock(t.Context(), "cls", "w1", 1); err == nil {
		t.Fatal("SetStock after Close: no error")
	}
	if _, err := s.Heads(t.Context()); err == nil {
		t.Fatal("Heads after Close: no error")
	}
}
