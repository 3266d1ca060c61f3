package gossip

import (
	"bytes"
	"context"
	"log"
	"log/slog"
)

// newMemberlistLogger returns a *log.Logger (what memberlist accepts) that
// forwards each line to l at the level memberlist wrote in its "[LEVEL]"
// prefix, so memberlist's output follows the process's slog configuration
// instead of going to stderr unfiltered.
func newMemberlistLogger(l *slog.Logger) *log.Logger {
	return log.New(slogWriter{l: l}, "", 0)
}

type slogWriter struct{ l *slog.Logger }

// Write handles one log line; log.Logger serializes calls and passes whole
// lines.
func (w slogWriter) Write(p []byte) (int, error) {
	n := len(p)
	line := bytes.TrimRight(p, "\n")
	level := slog.LevelInfo
	if len(line) > 0 && line[0] == '[' {
		if end := bytes.IndexByte(line, ']'); end > 0 {
			switch string(line[1:end]) {
			case "DEBUG", "TRACE":
				level = slog.LevelDebug
			case "INFO":
				level = slog.LevelInfo
			case "WARN", "WARNING":
				level = slog.LevelWarn
			case "ERR", "ERROR":
				level = slog.LevelError
			}
			line = bytes.TrimLeft(line[end+1:], " ")
		}
	}
	line = bytes.TrimPrefix(line, []byte("memberlist: "))
	ctx := context.Background()
	if w.l.Enabled(ctx, level) {
		w.l.Log(ctx, level, string(line), "component", "memberlist")
	}
	return n, nil
}
