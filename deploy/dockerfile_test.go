package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

const dockerfile = "docker/Dockerfile"

// TestDockerfile parses the Dockerfile with BuildKit's own parser and
// instruction reader (the lint rules they carry are errors here) and
// checks what the image promises: a static build, distroless base, a
// non-root numeric user, an exec-form ENTRYPOINT, pinned base images.
func TestDockerfile(t *testing.T) {
	f, err := os.Open(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("BuildKit parser: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("parser warning: %s", w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, desc, url, msg string, loc []parser.Range) {
		t.Errorf("lint %s: %s (line %v)", rule, msg, loc)
	}})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("BuildKit instructions: %v", err)
	}
	if len(stages) < 2 {
		t.Fatalf("want a multi-stage build, got %d stages", len(stages))
	}
	args := map[string]string{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				args[kv.Key] = *kv.Value
			}
		}
	}
	expand := func(s string) string {
		return regexp.MustCompile(`\$\{?(\w+)\}?`).ReplaceAllStringFunc(s, func(m string) string {
			if v, ok := args[strings.Trim(m, "${}")]; ok {
				return v
			}
			return m
		})
	}

	names := map[string]bool{}
	for i, st := range stages {
		base := expand(st.BaseName)
		if !names[st.BaseName] {
			last := base[strings.LastIndex(base, "/")+1:]
			if !strings.Contains(last, ":") || strings.HasSuffix(last, ":latest") {
				t.Errorf("stage %d: base image %q must carry a fixed tag", i, base)
			}
		}
		if st.Name != "" {
			names[st.Name] = true
		}
		for _, c := range st.Commands {
			if cp, ok := c.(*instructions.CopyCommand); ok && cp.From != "" && !names[cp.From] {
				t.Errorf("stage %d: COPY --from=%s names no earlier stage", i, cp.From)
			}
		}
	}

	build, final := stages[0], stages[len(stages)-1]
	var runs string
	for _, c := range build.Commands {
		if r, ok := c.(*instructions.RunCommand); ok {
			runs += strings.Join(r.CmdLine, " ") + "\n"
		}
	}
	if !strings.Contains(runs, "CGO_ENABLED=0") || !strings.Contains(runs, "-trimpath") {
		t.Errorf("the build stage must build with CGO_ENABLED=0 and -trimpath:\n%s", runs)
	}
	for _, pkg := range regexp.MustCompile(`\s(\./[\w/.-]+)`).FindAllStringSubmatch(runs, -1) {
		if st, err := os.Stat(filepath.Join("..", pkg[1])); err != nil || !st.IsDir() {
			t.Errorf("the build stage builds %s, which is not a package directory of the module", pkg[1])
		}
	}
	if !strings.Contains(runs, "./cmd/shortstock") {
		t.Errorf("the build stage must build ./cmd/shortstock")
	}

	if !strings.HasPrefix(expand(final.BaseName), "gcr.io/distroless/static") {
		t.Errorf("final stage %q: want distroless/static", final.BaseName)
	}
	var user string
	var entry, cmd *instructions.ShellDependantCmdLine
	for _, c := range final.Commands {
		switch x := c.(type) {
		case *instructions.UserCommand:
			user = x.User
		case *instructions.EntrypointCommand:
			entry = &x.ShellDependantCmdLine
		case *instructions.CmdCommand:
			cmd = &x.ShellDependantCmdLine
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("final stage USER %q: want a numeric non-root uid", user)
	}
	if entry == nil || entry.PrependShell || len(entry.CmdLine) != 1 || entry.CmdLine[0] != "/usr/local/bin/shortstock" {
		t.Errorf("want ENTRYPOINT [\"/usr/local/bin/shortstock\"] in exec form, got %+v", entry)
	}
	if cmd != nil && cmd.PrependShell {
		t.Errorf("CMD must be in exec form (there is no shell in the image)")
	}
}

// TestDockerignore: the context filter next to the Dockerfile keeps out
// secrets and the .git directory, and keeps everything go build needs.
func TestDockerignore(t *testing.T) {
	raw, err := os.ReadFile(dockerfile + ".dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(raw), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	excluded := func(path string) bool {
		for _, p := range patterns {
			p = strings.TrimPrefix(p, "/")
			for _, cand := range []string{p, strings.TrimPrefix(p, "**/")} {
				for dir := path; dir != "."; dir = filepath.Dir(dir) {
					if ok, _ := filepath.Match(cand, dir); ok {
						return true
					}
					if strings.HasPrefix(p, "**/") {
						if ok, _ := filepath.Match(cand, filepath.Base(dir)); ok {
							return true
						}
					}
				}
			}
		}
		return false
	}
	for _, keep := range []string{"go.mod", "go.sum", "cmd/shortstock/main.go", "deploy/docker/probe/main.go", "internal/keys/keys.go"} {
		if excluded(keep) {
			t.Errorf("%s is excluded from the build context", keep)
		}
	}
	for _, drop := range []string{".git/config", "deploy/docker/.env", "deploy/k8s/overlays/us-east/secrets.env", "data/shortstock.db"} {
		if !excluded(drop) {
			t.Errorf("%s is not excluded from the build context", drop)
		}
	}
}
