package redisstore_test

import (
	"log/slog"
	"net"
	"strconv"
	"strings"

	"github.com/shortstock/shortstock/internal/testutil"
)

// deadAddr returns a loopback address nobody listens on (a port that was
// free a moment ago).
func deadAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	l.Close()
	return addr, nil
}

func itoa(n int) string { return strconv.Itoa(n) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// logBuffer collects a store's log lines for tests that check a warning.
type logBuffer struct{ testutil.LockedBuffer }

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }
