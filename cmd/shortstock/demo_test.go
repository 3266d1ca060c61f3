package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

type topoFile struct {
	AdminKey string `json:"admin_key"`
	Regions  []struct {
		Name   string   `json:"name"`
		Origin string   `json:"origin"`
		Edges  []string `json:"edges"`
	} `json:"regions"`
}

var noRedirect = &http.Client{
	Timeout:       5 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func readTopology(t *testing.T, path string, p *proc) topoFile {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, err := os.ReadFile(path)
		var tf topoFile
		if err == nil && json.Unmarshal(b, &tf) == nil && len(tf.Regions) > 0 {
			return tf
		}
		select {
		case <-p.done:
			t.Fatalf("demo exited early: %v\n%s", p.err, p.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no topology file after 60 s\n%s", p.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The demo as a user runs it: start, read the topology file, write at an
// origin, read through every edge of every region, Ctrl-C, clean exit with
// nothing left listening.
func TestDemoEndToEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "topo.json")
	p := start(t, nil, "demo", "--regions", "2", "--edges", "2", "--topology-file", path, "--seed", "20")
	tf := readTopology(t, path, p)
	if len(tf.Regions) != 2 || len(tf.Regions[0].Edges) != 2 || tf.AdminKey == "" {
		t.Fatalf("topology %+v", tf)
	}
	key = tf.AdminKey
	defer func() { key = adminKey }()
	if c, m := call(t, "POST", tf.Regions[1].Origin+"/v1/links", `{"url":"https://example.com/demo","code":"demo-link"}`); c != 201 {
		t.Fatalf("create: %d %v", c, m)
	}
	var ports []string
	for _, r := range tf.Regions {
		ports = append(ports, hostPort(t, r.Origin))
		for _, e := range r.Edges {
			ports = append(ports, hostPort(t, e))
			deadline := time.Now().Add(10 * time.Second)
			for {
				res, err := noRedirect.Get(e + "/demo-link")
				if err == nil {
					res.Body.Close()
					if res.StatusCode == 302 && res.Header.Get("Location") == "https://example.com/demo" {
						break
					}
				}
				if time.Now().After(deadline) {
					t.Fatalf("edge %s (%s) never redirected demo-link: %v %v", e, r.Name, res, err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			res, err := noRedirect.Get(e + "/sample-3")
			if err != nil || res.StatusCode != 302 {
				t.Fatalf("seeded link through %s: %v %v", e, res, err)
			}
			res.Body.Close()
		}
	}
	if c, m := call(t, "POST", tf.Regions[0].Origin+"/v1/reservations", `{"sku":"DEMO-SKU","qty":2}`); c != 201 {
		t.Fatalf("reserve the demo sku: %d %v", c, m)
	}
	runPrintedCurls(t, p.out.String())
	checkPrintedConsole(t, p.out.String(), tf.Regions[0].Origin)

	p.stopWith(t, syscall.SIGINT, 30*time.Second)
	if !strings.Contains(p.logs.String(), "stopped cleanly") {
		t.Fatalf("no clean stop in the log:\n%s", p.logs)
	}
	// A clean stop logs no error (gossip used to gossip on through its
	// closing transport: "use of closed network connection").
	for _, line := range strings.Split(p.logs.String(), "\n") {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "closed network connection") {
			t.Errorf("the demo's stop logged: %s", line)
		}
	}
	for _, hp := range ports {
		if c, err := net.DialTimeout("tcp", hp, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still listening after the demo exited", hp)
		}
	}
}

// checkPrintedConsole: the demo prints the console's URL at the first
// origin, and it serves the app.
func checkPrintedConsole(t *testing.T, stdout, origin string) {
	t.Helper()
	var u string
	for _, line := range strings.Split(stdout, "\n") {
		if rest, ok := strings.CutPrefix(line, "admin console: "); ok {
			u, _, _ = strings.Cut(rest, " ")
		}
	}
	if u != origin+"/console/" {
		t.Fatalf("console URL printed %q, want %s/console/:\n%s", u, origin, stdout)
	}
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), "app.js") {
		t.Fatalf("GET %s: %d %.200s", u, res.StatusCode, b)
	}
}

func hostPort(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// runPrintedCurls runs the three curl commands the demo printed, as a user
// would paste them, and checks each did what its comment says.
func runPrintedCurls(t *testing.T, stdout string) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Log("curl not installed: printed commands not run")
		return
	}
	var cmds []string
	for _, line := range strings.Split(stdout, "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "curl ") {
			cmds = append(cmds, l)
		}
	}
	if len(cmds) != 3 {
		t.Fatalf("demo printed %d curl commands, want 3:\n%s", len(cmds), stdout)
	}
	want := []string{`"version":1`, "HTTP/1.1 302", `"status":"held"`}
	for i, c := range cmds {
		var out []byte
		var err error
		deadline := time.Now().Add(5 * time.Second)
		for {
			out, err = exec.Command("bash", "-c", c).CombinedOutput()
			if err == nil && strings.Contains(string(out), want[i]) || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil || !strings.Contains(string(out), want[i]) {
			t.Fatalf("printed command %d %q: %v\n%s", i+1, c, err, out)
		}
	}
}
