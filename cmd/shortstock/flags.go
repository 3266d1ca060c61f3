package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// errUsage means the command line was wrong; main exits 2 after one line.
var errUsage = errors.New("usage error")

// listFlag is a repeatable flag that also splits on commas.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// envName maps a flag name to its environment variable: --admin-key is
// SHORTSTOCK_ADMIN_KEY.
func envName(flagName string) string {
	return "SHORTSTOCK_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// usages holds each FlagSet's real usage printer (see newFlagSet).
var usages = map[*flag.FlagSet]func(){}

// newFlagSet returns a FlagSet whose usage text names the env variables.
func newFlagSet(cmd, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet("shortstock "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	// The flag package calls Usage on every parse error too; printing it
	// there would bury the one-line error, so parseFlags prints it for -h
	// only, through printUsage.
	fs.Usage = func() {}
	usages[fs] = func() {
		w := os.Stdout
		fmt.Fprintf(w, "usage: shortstock %s [flags]\n\n%s\n\nflags (each also read from the environment variable shown):\n", cmd, summary)
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" && f.DefValue != "false" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(w, "  --%-18s %s%s [%s]\n", f.Name, f.Usage, def, envName(f.Name))
		})
	}
	return fs
}

// parseFlags parses args, then fills every flag not given on the command line
// from its environment variable. Positional arguments are refused. Errors
// come back as one line wrapped in errUsage; -h prints usage and returns
// flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			if u := usages[fs]; u != nil {
				u()
			}
			return err
		}
		return fmt.Errorf("%w: %s: %v (see '%s -h')", errUsage, fs.Name(), err, fs.Name())
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: %s: unexpected argument %q (see '%s -h')", errUsage, fs.Name(), fs.Arg(0), fs.Name())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || set[f.Name] {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%w: %s: invalid value for %s: %v", errUsage, fs.Name(), envName(f.Name), e)
			}
		}
	})
	return err
}

// usageErr builds a one-line usage error for a flag value that parsed but
// makes no sense.
func usageErr(cmd, format string, a ...any) error {
	return fmt.Errorf("%w: shortstock %s: %s", errUsage, cmd, fmt.Sprintf(format, a...))
}
