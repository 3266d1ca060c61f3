package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func runVersion(_ context.Context, args []string) error {
	fs := newFlagSet("version", "Print version and build info.")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rev, modified := "unknown", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = " (modified)"
				}
			}
		}
	}
	fmt.Printf("shortstock %s\ncommit %s%s\n%s %s/%s\n", version, rev, modified, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
