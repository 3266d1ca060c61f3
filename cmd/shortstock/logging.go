package main

import (
	"flag"
	"log/slog"
	"os"
)

type logFlags struct{ level, format string }

func (l *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.level, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&l.format, "log-format", "json", "log format: json or text")
}

func (l *logFlags) logger(cmd string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(l.level)); err != nil {
		return nil, usageErr(cmd, "invalid --log-level %q (want debug, info, warn or error)", l.level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch l.format {
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	}
	return nil, usageErr(cmd, "invalid --log-format %q (want json or text)", l.format)
}
