package main

import (
	"context"
	"log/slog"
	"time"
)

// node is a started origin or edge (topology.OriginNode, EdgeNode).
type node interface {
	Done() <-chan error
	Shutdown(ctx context.Context) error
}

// shutdownTimeout bounds a graceful stop: drain, flush, leave gossip.
const shutdownTimeout = 15 * time.Second

// runUntilStopped waits until ctx is cancelled (a signal) and then stops n
// gracefully, or returns n's error if it stops on its own first. what says
// what the stop does, for the log.
func runUntilStopped(ctx context.Context, n node, log *slog.Logger, what string) error {
	select {
	case err := <-n.Done():
		n.Shutdown(context.Background())
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: " + what)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := n.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	log.Info("stopped")
	return nil
}
