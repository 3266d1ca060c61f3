package deploy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

const composeDir = "docker"

// loadCompose loads docker/compose.yaml the way `docker compose` does
// (interpolation, the compose-spec JSON schema, normalization, consistency
// checks), with the variables of envFiles and nothing from the process
// environment or a developer's own .env.
func loadCompose(t *testing.T, envFiles ...string) (*types.Project, error) {
	t.Helper()
	dir, err := filepath.Abs(composeDir)
	if err != nil {
		t.Fatal(err)
	}
	opts := []cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(dir),
		cli.WithName("shortstock"),
		cli.WithResolvedPaths(true),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
	}
	if len(envFiles) > 0 {
		opts = append(opts, cli.WithEnvFiles(envFiles...), cli.WithDotEnv)
	}
	o, err := cli.NewProjectOptions([]string{filepath.Join(dir, "compose.yaml")}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return o.LoadProject(context.Background())
}

// TestComposeRequiresSecrets: without the variables of .env.example the
// file refuses to load, naming what is missing.
func TestComposeRequiresSecrets(t *testing.T) {
	_, err := loadCompose(t)
	if err == nil || !strings.Contains(err.Error(), "see .env.example") {
		t.Fatalf("loading compose.yaml without secrets: got %v, want a required-variable error", err)
	}
}

// TestCompose validates compose.yaml offline with compose-go and checks the
// topology: two regions, each with an origin and two edges, gossip joined
// within the region only, health checks on /_/readyz, hardened containers.
func TestCompose(t *testing.T) {
	p, err := loadCompose(t, filepath.Join(composeDir, ".env.example"))
	if err != nil {
		t.Fatalf("compose-go: %v", err)
	}
	example := readEnvFile(t, filepath.Join(composeDir, ".env.example"))

	byRegion := map[string]map[string][]string{} // region -> role -> services
	var redis []string
	for name, s := range p.Services {
		switch {
		case strings.HasPrefix(name, "redis-cluster-init"):
		case strings.HasPrefix(name, "redis-"):
			redis = append(redis, name)
			if s.HealthCheck == nil || len(s.Volumes) != 1 {
				t.Errorf("%s: want a health check and a data volume", name)
			}
		case strings.HasPrefix(name, "origin-"), strings.HasPrefix(name, "edge-"):
			role, _, _ := strings.Cut(name, "-")
			region := env(s, "SHORTSTOCK_REGION")
			if !strings.Contains(name, region) || region == "" {
				t.Errorf("%s: SHORTSTOCK_REGION=%q does not match the service name", name, region)
			}
			if byRegion[region] == nil {
				byRegion[region] = map[string][]string{}
			}
			byRegion[region][role] = append(byRegion[region][role], name)
			checkComposeShortstock(t, p, name, role, region, s, example)
		default:
			t.Errorf("unexpected service %s", name)
		}
	}
	if len(byRegion) != 2 {
		t.Errorf("want two regions, got %v", byRegion)
	}
	for region, roles := range byRegion {
		if len(roles["origin"]) < 1 || len(roles["edge"]) != 2 {
			t.Errorf("region %s: want an origin and two edges, got %v", region, roles)
		}
	}
	// The inline shell scripts (Redis start, cluster init) parse.
	for name, s := range p.Services {
		if len(s.Command) == 3 && s.Command[0] == "sh" && strings.HasPrefix(s.Command[1], "-") {
			if out, err := exec.Command("sh", "-n", "-c", s.Command[2]).CombinedOutput(); err != nil {
				t.Errorf("%s: shell script does not parse: %v\n%s", name, err, out)
			}
		}
	}
	if len(redis) != 6 {
		t.Errorf("want 6 Redis nodes (3 masters, 3 replicas), got %v", redis)
	}
	// Each region's gossip key and cluster secret are its own.
	seen := map[string]string{}
	for region, roles := range byRegion {
		s := p.Services[roles["origin"][0]]
		for _, k := range []string{"SHORTSTOCK_GOSSIP_KEY", "SHORTSTOCK_CLUSTER_SECRET"} {
			ref := rawRef(t, s.Name, k)
			if other, dup := seen[ref]; dup {
				t.Errorf("%s of %s reuses %s of %s", k, region, ref, other)
			}
			seen[ref] = region
		}
	}
}

func checkComposeShortstock(t *testing.T, p *types.Project, name, role, region string, s types.ServiceConfig, example map[string]string) {
	if len(s.Command) == 0 || s.Command[0] != role {
		t.Errorf("%s: command %v, want %q", name, s.Command, role)
	}
	if s.Build == nil || s.Image == "" {
		t.Errorf("%s: want build and image", name)
	} else if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
		t.Errorf("%s: Dockerfile: %v", name, err)
	} else if _, err := os.Stat(filepath.Join(s.Build.Context, "go.mod")); err != nil {
		t.Errorf("%s: build context %s is not the module root", name, s.Build.Context)
	}
	if !s.ReadOnly || s.User == "" || strings.HasPrefix(s.User, "0") || len(s.CapDrop) != 1 || s.CapDrop[0] != "ALL" {
		t.Errorf("%s: want read_only, a non-root user and cap_drop ALL", name)
	}
	if s.HealthCheck == nil || !strings.Contains(strings.Join(s.HealthCheck.Test, " "), "/_/readyz") {
		t.Errorf("%s: want a health check on /_/readyz", name)
	}
	if s.MemLimit <= 0 {
		t.Errorf("%s: want mem_limit", name)
	}
	var names []string
	for k := range s.Environment {
		names = append(names, k)
	}
	sort.Strings(names)
	checkEnv(t, "compose "+name, role, names)
	for k, v := range s.Environment {
		if v == nil {
			t.Errorf("%s: %s has no value", name, k)
		}
	}
	for _, peer := range strings.Split(env(s, "SHORTSTOCK_JOIN"), ",") {
		host, port, _ := strings.Cut(peer, ":")
		if ps, ok := p.Services[host]; !ok || env(ps, "SHORTSTOCK_REGION") != region || port != "7946" {
			t.Errorf("%s: gossip peer %s is not a %s member on 7946", name, peer, region)
		}
	}
	switch role {
	case "origin":
		if env(s, "SHORTSTOCK_ADMIN_KEY") != example["SHORTSTOCK_ADMIN_KEY"] {
			t.Errorf("%s: the admin key must come from the env file", name)
		}
		for _, addr := range strings.Split(env(s, "SHORTSTOCK_REDIS"), ",") {
			host, _, _ := strings.Cut(addr, ":")
			if _, ok := p.Services[host]; !ok || !strings.Contains(host, region) {
				t.Errorf("%s: Redis seed %s is not a node of this region", name, addr)
			}
		}
		if _, ok := s.DependsOn["redis-cluster-init"]; !ok {
			t.Errorf("%s: must wait for the Redis cluster", name)
		}
	case "edge":
		if env(s, "SHORTSTOCK_ADMIN_KEY") != "" {
			t.Errorf("%s: an edge has no use for the admin key", name)
		}
		host, _, _ := strings.Cut(strings.TrimPrefix(env(s, "SHORTSTOCK_ORIGIN"), "http://"), ":")
		if host != "origin-"+region || s.DependsOn[host].Condition != types.ServiceConditionHealthy {
			t.Errorf("%s: want origin %s and to wait until it is healthy", name, "origin-"+region)
		}
	}
}

func env(s types.ServiceConfig, k string) string {
	if v := s.Environment[k]; v != nil {
		return *v
	}
	return ""
}

// rawRef returns the ${VAR...} a service's variable is set from in the
// uninterpolated file, via the x-<region>-env block it merges.
func rawRef(t *testing.T, service, key string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(composeDir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	region := strings.TrimPrefix(service, "origin-")
	block := "x-" + region + "-env:"
	i := strings.Index(string(raw), block)
	if i < 0 {
		t.Fatalf("compose.yaml has no %s block", block)
	}
	rest := string(raw[i:])
	j := strings.Index(rest, key+": ${")
	if j < 0 {
		t.Fatalf("%s does not set %s from a variable", block, key)
	}
	ref := rest[j+len(key)+4:]
	end := strings.IndexAny(ref, ":}")
	return ref[:end]
}

func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: bad line %q", path, line)
		}
		m[k] = v
	}
	return m
}
