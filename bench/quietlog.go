package bench

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// muteHandler passes records on until muted. The embedded topology's
// nodes log through it, and it is muted while they shut down: memberlist
// reports packets to members that already left as errors then, which says
// nothing about the run (Shutdown's own error is still reported).
type muteHandler struct {
	inner slog.Handler
	muted *atomic.Bool
}

func newMutable(l *slog.Logger) (*slog.Logger, *atomic.Bool) {
	m := &atomic.Bool{}
	return slog.New(&muteHandler{inner: l.Handler(), muted: m}), m
}

func (h *muteHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return !h.muted.Load() && h.inner.Enabled(ctx, l)
}

func (h *muteHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.muted.Load() {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

func (h *muteHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &muteHandler{inner: h.inner.WithAttrs(as), muted: h.muted}
}

func (h *muteHandler) WithGroup(name string) slog.Handler {
	return &muteHandler{inner: h.inner.WithGroup(name), muted: h.muted}
}
