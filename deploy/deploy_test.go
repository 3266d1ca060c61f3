package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
	"go.yaml.in/yaml/v4"
)

var tmpRoot string // removed by TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shortstock-deploy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tmpRoot = dir
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		// Nothing a test starts (commands, their output readers) may
		// outlive it.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// ---------------------------------------------------------------- check.sh

var (
	checkOnce   sync.Once
	checkOut    []byte
	checkErr    error
	renderedDir = ""
)

// runCheck runs check.sh once and returns the directory of the rendered
// manifests. When the tools cannot be installed (exit 3) the test fails
// with CI=true and skips otherwise.
func runCheck(t *testing.T) string {
	t.Helper()
	checkOnce.Do(func() {
		renderedDir = filepath.Join(tmpRoot, "rendered")
		cmd := exec.Command("bash", "check.sh", "--out", renderedDir)
		checkOut, checkErr = cmd.CombinedOutput()
	})
	var exit *exec.ExitError
	switch {
	case checkErr == nil:
		return renderedDir
	case errors.As(checkErr, &exit) && exit.ExitCode() == 3:
		if os.Getenv("CI") == "true" {
			t.Fatalf("check.sh could not install its tools (CI=true):\n%s", checkOut)
		}
		t.Skipf("check.sh could not install kustomize/kubeconform (no network?); CI=true makes this a failure:\n%s", checkOut)
	default:
		t.Fatalf("check.sh failed: %v\n%s", checkErr, checkOut)
	}
	return ""
}

// TestCheckScript renders every overlay, validates it with kubeconform
// -strict against the committed schemas and verifies the systemd units.
func TestCheckScript(t *testing.T) {
	runCheck(t)
	t.Logf("check.sh output:\n%s", checkOut)
	for _, want := range []string{"Invalid: 0, Errors: 0, Skipped: 0", "deploy checks passed"} {
		if !bytes.Contains(checkOut, []byte(want)) {
			t.Errorf("check.sh output lacks %q", want)
		}
	}
}

// ------------------------------------------------- flags of the real binary

// staticFlags is shared/API.md's flag list plus the flags the brief of the
// deploy files relies on; it is used only while a command is not built yet.
var staticFlags = map[string][]string{
	"origin": {"listen", "region", "store", "data-dir", "redis", "admin-key", "cluster-secret",
		"gossip-bind", "join", "gossip-key", "gossip-insecure", "log-level", "log-format"},
	"edge": {"listen", "region", "origin", "cluster-secret", "gossip-bind", "join", "gossip-key",
		"gossip-insecure", "cache-bytes", "log-level", "log-format"},
}

// otherEnv are variables the deploy files may set besides SHORTSTOCK_*.
var otherEnv = map[string]bool{"GOMEMLIMIT": true, "GOGC": true, "GOMAXPROCS": true, "POD_IP": true}

var (
	binOnce sync.Once
	binPath string
	binErr  error
	flagsMu sync.Mutex
	flagMap = map[string]map[string]bool{}
)

// envVars returns the environment variables command cmd reads: those of the
// real binary's `shortstock CMD -h`, or staticFlags' while the command does
// not exist yet.
func envVars(t *testing.T, cmd string) map[string]bool {
	t.Helper()
	flagsMu.Lock()
	defer flagsMu.Unlock()
	if m, ok := flagMap[cmd]; ok {
		return m
	}
	binOnce.Do(func() {
		binPath = filepath.Join(tmpRoot, "shortstock")
		b := exec.Command("go", "build", "-o", binPath, "./cmd/shortstock")
		b.Dir = ".."
		if out, err := b.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/shortstock: %v\n%s", err, out)
		}
	})
	m := map[string]bool{}
	var names []string
	if binErr == nil {
		out, err := exec.Command(binPath, cmd, "-h").CombinedOutput()
		if err == nil {
			for _, line := range strings.Split(string(out), "\n") {
				if f, ok := strings.CutPrefix(strings.TrimSpace(line), "--"); ok {
					names = append(names, strings.Fields(f)[0])
				}
			}
		}
		if len(names) == 0 {
			t.Logf("shortstock %s -h lists no flags (%v): using the documented ones", cmd, err)
		}
	} else {
		t.Logf("using the documented flags: %v", binErr)
	}
	if len(names) == 0 {
		names = staticFlags[cmd]
	}
	for _, n := range names {
		m["SHORTSTOCK_"+strings.ToUpper(strings.ReplaceAll(n, "-", "_"))] = true
	}
	flagMap[cmd] = m
	return m
}

// checkEnv reports variables that `shortstock cmd` would not read: a typo
// there is silently ignored by the binary.
func checkEnv(t *testing.T, where, cmd string, names []string) {
	t.Helper()
	known := envVars(t, cmd)
	for _, n := range names {
		if !known[n] && !otherEnv[n] {
			t.Errorf("%s: %s is not a flag variable of 'shortstock %s'", where, n, cmd)
		}
	}
}

// ------------------------------------------------------ rendered manifests

type obj = map[string]any

func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(obj)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func str(v any, path ...string) string { s, _ := get(v, path...).(string); return s }
func list(v any, path ...string) []any { l, _ := get(v, path...).([]any); return l }

func loadYAML(t *testing.T, file string) []obj {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var docs []obj
	dec := yaml.NewDecoder(f)
	for {
		var d obj
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
	return docs
}

// bytesOf parses a Kubernetes quantity or a GOMEMLIMIT value in bytes.
func bytesOf(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30},
		{"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"B", 1}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			return v * u.mult, err
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

func matches(selector, labels any) bool {
	sel, _ := selector.(obj)
	lab, _ := labels.(obj)
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if lab[k] != v {
			return false
		}
	}
	return true
}

// TestKubernetesPolicy checks what a schema cannot: probes, limits,
// hardening, regions, and that every reference resolves.
func TestKubernetesPolicy(t *testing.T) {
	dir := runCheck(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	regions := 0
	for _, file := range files {
		region := strings.TrimSuffix(filepath.Base(file), ".yaml")
		if region == "base" {
			continue
		}
		regions++
		t.Run(region, func(t *testing.T) { checkRegion(t, region, loadYAML(t, file)) })
	}
	if regions < 2 {
		t.Fatalf("want at least two regions rendered, got %d in %s", regions, dir)
	}
}

func checkRegion(t *testing.T, region string, docs []obj) {
	ns := "shortstock-" + region
	byKind := map[string][]obj{}
	named := map[string]obj{} // kind/name
	for _, d := range docs {
		kind, name := str(d, "kind"), str(d, "metadata", "name")
		byKind[kind] = append(byKind[kind], d)
		named[kind+"/"+name] = d
		if kind != "Namespace" && str(d, "metadata", "namespace") != ns {
			t.Errorf("%s/%s is in namespace %q, want %s", kind, name, str(d, "metadata", "namespace"), ns)
		}
	}
	if n := named["Namespace/"+ns]; n == nil || str(n, "metadata", "labels", "pod-security.kubernetes.io/enforce") != "restricted" {
		t.Errorf("Namespace %s missing or not enforcing the restricted Pod Security Standard", ns)
	}
	// Generated ConfigMaps and Secrets carry a hash suffix.
	configData := map[string]obj{}
	for _, c := range byKind["ConfigMap"] {
		configData[str(c, "metadata", "name")], _ = get(c, "data").(obj)
	}
	secretKeys := map[string]obj{}
	for _, s := range byKind["Secret"] {
		secretKeys[str(s, "metadata", "name")], _ = get(s, "data").(obj)
	}
	for name, data := range configData {
		if strings.HasPrefix(name, "shortstock-common-") && data["SHORTSTOCK_REGION"] != region {
			t.Errorf("ConfigMap %s: SHORTSTOCK_REGION=%v, want %s", name, data["SHORTSTOCK_REGION"], region)
		}
	}

	var podLabels []any
	components := map[string]bool{}
	for _, d := range byKind["Deployment"] {
		name := str(d, "metadata", "name")
		pod := get(d, "spec", "template")
		labels := get(pod, "metadata", "labels")
		podLabels = append(podLabels, labels)
		component := str(labels, "app.kubernetes.io/component")
		components[component] = true
		if str(labels, "shortstock.io/region") != region {
			t.Errorf("%s: pods lack label shortstock.io/region=%s", name, region)
		}
		if !matches(get(d, "spec", "selector", "matchLabels"), labels) {
			t.Errorf("%s: selector does not match its pod labels", name)
		}
		if r, _ := get(d, "spec", "replicas").(int); r < 2 {
			t.Errorf("%s: %d replicas, want at least 2", name, r)
		}
		spec := get(pod, "spec")
		if get(spec, "automountServiceAccountToken") != false || get(spec, "enableServiceLinks") != false {
			t.Errorf("%s: want automountServiceAccountToken and enableServiceLinks false", name)
		}
		if get(spec, "securityContext", "runAsNonRoot") != true || str(spec, "securityContext", "seccompProfile", "type") != "RuntimeDefault" {
			t.Errorf("%s: pod must run as non-root with the RuntimeDefault seccomp profile", name)
		}
		if g, _ := get(spec, "terminationGracePeriodSeconds").(int); g < 20 {
			t.Errorf("%s: terminationGracePeriodSeconds %d leaves no time to drain", name, g)
		}
		pdb := false
		for _, p := range byKind["PodDisruptionBudget"] {
			pdb = pdb || matches(get(p, "spec", "selector", "matchLabels"), labels)
		}
		if !pdb {
			t.Errorf("%s: no PodDisruptionBudget selects its pods", name)
		}
		for _, c := range list(spec, "containers") {
			checkContainer(t, name, component, c, configData, secretKeys)
		}
	}
	if !components["origin"] || !components["edge"] {
		t.Errorf("want origin and edge Deployments, got %v", components)
	}

	gossip := named["Service/shortstock-gossip"]
	if str(gossip, "spec", "clusterIP") != "None" || get(gossip, "spec", "publishNotReadyAddresses") != true {
		t.Errorf("shortstock-gossip must be headless and publish not-ready addresses")
	}
	protos := map[string]bool{}
	for _, p := range list(gossip, "spec", "ports") {
		if get(p, "port") == 7946 {
			protos[str(p, "protocol")] = true
		}
	}
	if !protos["TCP"] || !protos["UDP"] {
		t.Errorf("shortstock-gossip must expose 7946 over TCP and UDP, got %v", protos)
	}
	for _, l := range podLabels {
		if !matches(get(gossip, "spec", "selector"), l) {
			t.Errorf("shortstock-gossip does not select pods labelled %v", l)
		}
	}
	if str(named["Service/shortstock-edge"], "spec", "type") != "LoadBalancer" {
		t.Errorf("the region's edges should be behind a LoadBalancer Service")
	}
	// The addresses in the config point at Services of this namespace.
	for name, data := range configData {
		if j, ok := data["SHORTSTOCK_JOIN"].(string); ok {
			for _, peer := range strings.Split(j, ",") {
				host, _, _ := strings.Cut(peer, ":")
				if named["Service/"+host] == nil {
					t.Errorf("ConfigMap %s: join peer %s is not a Service", name, peer)
				}
			}
		}
		if o, ok := data["SHORTSTOCK_ORIGIN"].(string); ok {
			host, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(o, "http://"), "https://"), ":")
			if named["Service/"+host] == nil {
				t.Errorf("ConfigMap %s: origin %s is not a Service", name, o)
			}
		}
		if r, ok := data["SHORTSTOCK_REDIS"].(string); ok && strings.Contains(r, "CHANGE-ME") {
			t.Errorf("ConfigMap %s: the overlay must set the Redis addresses", name)
		}
	}
}

func checkContainer(t *testing.T, deployment, component string, c any, configData, secretKeys map[string]obj) {
	where := deployment + "/" + str(c, "name")
	args := list(c, "args")
	if len(args) == 0 || args[0] != component {
		t.Errorf("%s: args %v, want the %q subcommand", where, args, component)
	}
	image := str(c, "image")
	if i := strings.LastIndex(image, ":"); i < strings.LastIndex(image, "/") || strings.HasSuffix(image, ":latest") {
		t.Errorf("%s: image %q needs a pinned tag", where, image)
	}
	if str(c, "readinessProbe", "httpGet", "path") != "/_/readyz" || str(c, "livenessProbe", "httpGet", "path") != "/_/healthz" {
		t.Errorf("%s: want readiness on /_/readyz and liveness on /_/healthz", where)
	}
	for _, k := range []string{"requests", "limits"} {
		for _, r := range []string{"cpu", "memory"} {
			if get(c, "resources", k, r) == nil {
				t.Errorf("%s: resources.%s.%s not set", where, k, r)
			}
		}
	}
	limit, err := bytesOf(str(c, "resources", "limits", "memory"))
	if err != nil {
		t.Errorf("%s: limits.memory: %v", where, err)
	}
	sc := get(c, "securityContext")
	if get(sc, "readOnlyRootFilesystem") != true || get(sc, "allowPrivilegeEscalation") != false ||
		len(list(sc, "capabilities", "drop")) != 1 || list(sc, "capabilities", "drop")[0] != "ALL" {
		t.Errorf("%s: want a read-only root, no privilege escalation, all capabilities dropped", where)
	}
	ports := map[string]bool{}
	for _, p := range list(c, "ports") {
		ports[fmt.Sprintf("%v/%v", get(p, "containerPort"), get(p, "protocol"))] = true
	}
	if !ports["7946/TCP"] || !ports["7946/UDP"] {
		t.Errorf("%s: gossip port 7946 needs TCP and UDP, got %v", where, ports)
	}

	var names []string
	for _, from := range list(c, "envFrom") {
		ref := str(from, "configMapRef", "name")
		data, ok := configData[ref]
		if !ok {
			t.Errorf("%s: envFrom ConfigMap %q is not rendered", where, ref)
		}
		for k := range data {
			names = append(names, k)
		}
	}
	gotSecret := map[string]bool{}
	for _, e := range list(c, "env") {
		n := str(e, "name")
		names = append(names, n)
		if ref := get(e, "valueFrom", "secretKeyRef"); ref != nil {
			data, ok := secretKeys[str(ref, "name")]
			if !ok || data[str(ref, "key")] == nil {
				t.Errorf("%s: %s refers to missing Secret key %s/%s", where, n, str(ref, "name"), str(ref, "key"))
			}
			gotSecret[n] = true
		}
		if n == "GOMEMLIMIT" {
			if m, err := bytesOf(str(e, "value")); err != nil || m >= limit || m < limit*8/10 {
				t.Errorf("%s: GOMEMLIMIT %s should sit just under limits.memory (%d bytes)", where, str(e, "value"), limit)
			}
		}
	}
	sort.Strings(names)
	checkEnv(t, where, component, names)
	want := []string{"SHORTSTOCK_CLUSTER_SECRET", "SHORTSTOCK_GOSSIP_KEY"}
	if component == "origin" {
		want = append(want, "SHORTSTOCK_ADMIN_KEY")
	}
	for _, w := range want {
		if !gotSecret[w] {
			t.Errorf("%s: %s must come from the Secret", where, w)
		}
	}
	if component == "edge" && gotSecret["SHORTSTOCK_ADMIN_KEY"] {
		t.Errorf("%s: an edge has no use for the admin key", where)
	}
}

func TestBytesOf(t *testing.T) {
	for in, want := range map[string]int64{"512Mi": 512 << 20, "460MiB": 460 << 20, "1Gi": 1 << 30, "268435456": 268435456} {
		if got, err := bytesOf(in); err != nil || got != want {
			t.Errorf("bytesOf(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}
