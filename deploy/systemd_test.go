package deploy

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// unit is a parsed systemd unit: section -> key -> values (keys repeat).
type unit map[string]map[string][]string

func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := unit{}
	section := ""
	for i, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a key=value line in a section: %q", path, i+1, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

func (u unit) one(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// TestSystemdUnits checks the templated units' contract; check.sh runs
// systemd-analyze verify on them where systemd is installed.
func TestSystemdUnits(t *testing.T) {
	for _, role := range []string{"origin", "edge"} {
		path := filepath.Join("systemd", "shortstock-"+role+"@.service")
		u := parseUnit(t, path)
		svc := "Service"
		want := map[string]string{
			"ExecStart":       "/usr/local/bin/shortstock " + role,
			"DynamicUser":     "yes",
			"ProtectSystem":   "strict",
			"ProtectHome":     "yes",
			"NoNewPrivileges": "yes",
			"PrivateTmp":      "yes",
			"Restart":         "on-failure",
		}
		for k, v := range want {
			if got := u.one(svc, k); got != v {
				t.Errorf("%s: %s=%q, want %q", path, k, got, v)
			}
		}
		if !contains(u[svc]["EnvironmentFile"], "/etc/shortstock/%i.env") {
			t.Errorf("%s: want EnvironmentFile=/etc/shortstock/%%i.env, got %v", path, u[svc]["EnvironmentFile"])
		}
		if d, err := time.ParseDuration(u.one(svc, "TimeoutStopSec")); err != nil || d < 20*time.Second {
			t.Errorf("%s: TimeoutStopSec=%s leaves no time for the 15 s drain", path, u.one(svc, "TimeoutStopSec"))
		}
		if u.one("Install", "WantedBy") != "multi-user.target" {
			t.Errorf("%s: want WantedBy=multi-user.target", path)
		}
		env := map[string]string{}
		for _, e := range u[svc]["Environment"] {
			k, v, _ := strings.Cut(e, "=")
			env[k] = v
		}
		if role == "origin" {
			if u.one(svc, "StateDirectory") != "shortstock/%i" || env["SHORTSTOCK_DATA_DIR"] != "%S/shortstock/%i" {
				t.Errorf("%s: the embedded store must live in StateDirectory=shortstock/%%i (SHORTSTOCK_DATA_DIR=%%S/shortstock/%%i)", path)
			}
		}
		if mem, lim := u.one(svc, "MemoryMax"), env["GOMEMLIMIT"]; mem != "" {
			m, err1 := bytesOf(strings.TrimSuffix(mem, "B") + "i") // systemd: 512M = 512 MiB
			g, err2 := bytesOf(lim)
			if err1 != nil || err2 != nil || g >= m || g < m*8/10 {
				t.Errorf("%s: GOMEMLIMIT=%s should sit just under MemoryMax=%s", path, lim, mem)
			}
		}
		names := keys(env)
		example := readEnvFile(t, filepath.Join("systemd", role+".env.example"))
		names = append(names, keys(example)...)
		checkEnv(t, path, role, names)
		for k, v := range example {
			// TLS_KEY and REDIS_KEY name a key file, not a secret value.
			isPath := strings.HasSuffix(k, "_TLS_KEY") || strings.HasSuffix(k, "_REDIS_KEY")
			if (strings.Contains(k, "KEY") || strings.Contains(k, "SECRET")) && !isPath {
				if v != "REPLACE_ME" {
					t.Errorf("%s.env.example: %s must be the REPLACE_ME placeholder", role, k)
				}
			}
		}
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
