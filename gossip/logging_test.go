package gossip

import (
	"context"
	"log/slog"
	"sync"
	"testing"
)

type captureHandler struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.recs = append(h.recs, r)
	h.mu.Unlock()
	return nil
}
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }

func TestMemberlistLogsGoToSlog(t *testing.T) {
	h := &captureHandler{}
	l := newMemberlistLogger(slog.New(h))
	l.Printf("[DEBUG] memberlist: Stream connection from=1.2.3.4")
	l.Printf("[WARN] memberlist: Refuting a suspect message")
	l.Printf("[ERR] memberlist: Failed to send")
	l.Printf("[INFO] memberlist: Marking node as failed")
	l.Printf("no prefix at all")
	want := []struct {
		level slog.Level
		msg   string
	}{
		{slog.LevelDebug, "Stream connection from=1.2.3.4"},
		{slog.LevelWarn, "Refuting a suspect message"},
		{slog.LevelError, "Failed to send"},
		{slog.LevelInfo, "Marking node as failed"},
		{slog.LevelInfo, "no prefix at all"},
	}
	if len(h.recs) != len(want) {
		t.Fatalf("got %d records", len(h.recs))
	}
	for i, w := range want {
		if r := h.recs[i]; r.Level != w.level || r.Message != w.msg {
			t.Errorf("record %d = %v %q, want %v %q", i, r.Level, r.Message, w.level, w.msg)
		}
	}
}
