package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Keys of the tools map startPipeline takes (as requireTools returns it).
const (
	toolPrometheus   = "prometheus"
	toolAlertmanager = "prometheus-alertmanager|alertmanager"
)

// stack is a Prometheus and an Alertmanager the end-to-end tests run
// together: Debian's packages from PATH (bookworm: 2.42 and 0.25) and the
// versions pinned in deploy/versions.env, built by `make deps` into
// .tools/ (DOWNTIME_TOOLS overrides the directory).
type stack struct {
	name string
	// prometheus and alertmanager are the versions the binaries must
	// report; empty: any (Debian's, logged).
	prometheus, alertmanager string
	// find returns the binaries, keyed like requireTools; it skips the test
	// (fails it under CI=true) when one is missing.
	find func(t *testing.T) map[string]string
}

// stacks are the pairs every pipeline test runs against.
func stacks(t *testing.T) []stack {
	t.Helper()
	return []stack{debianStack(), pinnedStack(t)}
}

func debianStack() stack {
	return stack{name: "debian", find: func(t *testing.T) map[string]string {
		t.Helper()
		return requireTools(t, toolPrometheus, toolAlertmanager)
	}}
}

// pinnedStack is Prometheus 3 and the current Alertmanager from .tools/.
func pinnedStack(t *testing.T) stack {
	t.Helper()
	v := pinnedVersions(t)
	prom, am := v["PROMETHEUS3_VERSION"], v["ALERTMANAGER_NEW_VERSION"]
	dir := toolsDir(t)
	return stack{
		name:         "prometheus-" + prom + "+alertmanager-" + am,
		prometheus:   prom,
		alertmanager: am,
		find: func(t *testing.T) map[string]string {
			t.Helper()
			return requireFiles(t, map[string]string{
				toolPrometheus:   filepath.Join(dir, "prometheus-"+prom, "prometheus"),
				toolAlertmanager: filepath.Join(dir, "alertmanager-"+am, "alertmanager"),
			})
		},
	}
}

// pinnedVersions reads deploy/versions.env (KEY=value lines).
func pinnedVersions(t *testing.T) map[string]string {
	t.Helper()
	path := filepath.Join(repoRoot(t), "deploy", "versions.env")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("pinned versions: %v", err)
	}
	defer f.Close()
	v := map[string]string{}
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || key == "" || value == "" || strings.ContainsAny(line, " \"'") {
			t.Fatalf("%s:%d: got %q, want KEY=value", path, n, line)
		}
		v[key] = value
	}
	if err := s.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, key := range []string{"PROMETHEUS3_VERSION", "ALERTMANAGER_NEW_VERSION"} {
		if v[key] == "" {
			t.Fatalf("%s: no %s", path, key)
		}
	}
	return v
}

// toolsDir is where `make deps` builds the pinned binaries.
func toolsDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("DOWNTIME_TOOLS"); d != "" {
		return d
	}
	return filepath.Join(repoRoot(t), ".tools")
}

// requireFiles is requireTools for binaries at fixed paths.
func requireFiles(t *testing.T, paths map[string]string) map[string]string {
	t.Helper()
	for _, p := range paths {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			msg := fmt.Sprintf("end-to-end test needs %s (make deps builds it)", p)
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip("skipping: " + msg)
		}
	}
	return paths
}

// forEachStack runs fn as a subtest per stack, all at the same time: the
// pipelines live in their own namespaces and mostly wait, so they do not
// queue behind -parallel (GOMAXPROCS, 2 here) as t.Parallel would make them.
func forEachStack(t *testing.T, fn func(t *testing.T, s stack)) {
	t.Helper()
	var wg sync.WaitGroup
	for _, s := range stacks(t) {
		wg.Go(func() {
			t.Run(s.name, func(t *testing.T) { fn(t, s) })
		})
	}
	wg.Wait()
}

// checkVersions logs the versions the running Prometheus and Alertmanager
// report and fails when a pinned one is not the pinned version.
func (p *pipeline) checkVersions(t *testing.T, s stack) {
	t.Helper()
	hc := p.ns.HTTPClient()
	prom, err := promVersion(hc)
	if err != nil {
		t.Fatalf("Prometheus build info: %v", err)
	}
	am, err := amVersion(hc)
	if err != nil {
		t.Fatalf("Alertmanager status: %v", err)
	}
	t.Logf("stack %s: Prometheus %s, Alertmanager %s", s.name, prom, am)
	if s.prometheus != "" && prom != s.prometheus {
		t.Errorf("got Prometheus %s, want the pinned %s (stale .tools? make deps)", prom, s.prometheus)
	}
	if s.alertmanager != "" && am != s.alertmanager {
		t.Errorf("got Alertmanager %s, want the pinned %s (stale .tools? make deps)", am, s.alertmanager)
	}
}

func promVersion(hc *http.Client) (string, error) {
	var r struct {
		Data struct {
			Version string `json:"version"`
		} `json:"data"`
	}
	if err := getJSON(hc, "/api/v1/status/buildinfo", &r); err != nil {
		return "", err
	}
	return r.Data.Version, nil
}

func amVersion(hc *http.Client) (string, error) {
	resp, err := hc.Get("http://127.0.0.1:9093/api/v2/status")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var r struct {
		VersionInfo struct {
			Version string `json:"version"`
		} `json:"versionInfo"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return "", fmt.Errorf("alertmanager status: decode: %w", err)
	}
	return r.VersionInfo.Version, nil
}
