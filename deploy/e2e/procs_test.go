package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	amtemplate "github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/exporter/netns"
)

// requireTools skips (or fails under CI=true) when a program is missing.
func requireTools(t *testing.T, names ...string) map[string]string {
	t.Helper()
	paths := map[string]string{}
	for _, alternatives := range names {
		for _, name := range strings.Split(alternatives, "|") {
			if p, err := exec.LookPath(name); err == nil {
				paths[alternatives] = p
				break
			}
		}
		if paths[alternatives] != "" {
			continue
		}
		msg := fmt.Sprintf("end-to-end test needs %s in PATH (make deps installs it)", alternatives)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("skipping: " + msg)
	}
	return paths
}

// buildBinaries builds the exporter and the receiver into dir.
func buildBinaries(t *testing.T, dir string) (exporter, receiver string) {
	t.Helper()
	exporter = filepath.Join(dir, "downtime_exporter")
	receiver = filepath.Join(dir, "downtime_receiver")
	for out, pkg := range map[string]string{exporter: "./exporter", receiver: "./receiver"} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = repoRoot(t)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	return exporter, receiver
}

// proc is a program running inside the pipeline namespace.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// start runs bin inside ns with its output in dir/<name>.log. t.Cleanup
// stops it with SIGTERM (SIGKILL after 10 s) and, if the test failed, prints
// the end of its log.
func start(t *testing.T, ns *netns.NS, dir, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, log: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		t.Fatalf("%s log: %v", name, err)
	}
	p.cmd = ns.Command(context.Background(), bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	p.cmd.Env = append(os.Environ(), env...)
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("--- end of %s log ---\n%s", name, tail(p.log, 25))
		}
	})
	return p
}

func (p *proc) stop(t *testing.T) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Errorf("%s did not stop within 10 s of SIGTERM; killing it", p.name)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		lines = append(lines, s.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// waitReady polls url until it answers 200 or p exits or 30 s pass.
func waitReady(t *testing.T, hc *http.Client, p *proc, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := hc.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if p.exited() {
			t.Fatalf("%s exited before it was ready:\n%s", p.name, tail(p.log, 25))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready at %s after 30 s (last error %v):\n%s", p.name, url, err, tail(p.log, 25))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sample is one element of an instant-query result: a float in Value, or a
// native histogram in Histogram ([time, {count, sum, buckets}]).
type sample struct {
	Metric    map[string]string `json:"metric"`
	Value     [2]any            `json:"value"`
	Histogram [2]any            `json:"histogram"`
}

// query runs an instant query against the Prometheus in the namespace.
func query(hc *http.Client, q string) ([]sample, error) {
	resp, err := hc.Get("http://127.0.0.1:9090/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []sample `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("query %q: decode: %w", q, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", q, r.Error)
	}
	return r.Data.Result, nil
}

// waitQuery polls q until it returns at least one sample.
func waitQuery(t *testing.T, hc *http.Client, q string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		res, err := query(hc, q)
		if err == nil && len(res) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("query %q: no result after %v (last error %v)", q, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkRuleHealth fails the test for every rule Prometheus could not
// evaluate (bad vector matching, for example), which promtool's static
// check does not catch.
func checkRuleHealth(t *testing.T, hc *http.Client) {
	t.Helper()
	resp, err := hc.Get("http://127.0.0.1:9090/api/v1/rules")
	if err != nil {
		t.Fatalf("rules API: %v", err)
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("rules API: decode: %v", err)
	}
	n := 0
	for _, g := range r.Data.Groups {
		for _, rule := range g.Rules {
			n++
			if rule.Health == "err" {
				t.Errorf("rule %s/%s: got health %q (%s), want ok", g.Name, rule.Name, rule.Health, rule.LastError)
			}
		}
	}
	if n == 0 {
		t.Errorf("got no rules loaded in Prometheus, want the rules of rules/")
	}
}

// alertStatus returns the Alertmanager state ("active", "suppressed", ...)
// of the first alert named alertname and what inhibits it.
func alertStatus(hc *http.Client, alertname string) (state string, inhibitedBy []string, err error) {
	resp, err := hc.Get("http://127.0.0.1:9093/api/v2/alerts?filter=" + url.QueryEscape(`alertname="`+alertname+`"`))
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	var alerts []struct {
		Status struct {
			State       string   `json:"state"`
			InhibitedBy []string `json:"inhibitedBy"`
		} `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
		return "", nil, fmt.Errorf("alertmanager alerts: decode: %w", err)
	}
	if len(alerts) == 0 {
		return "", nil, fmt.Errorf("alertmanager has no %s alert", alertname)
	}
	return alerts[0].Status.State, alerts[0].Status.InhibitedBy, nil
}

// amAlert returns the first alert named alertname that Alertmanager holds,
// as the receiver gets it.
func amAlert(hc *http.Client, alertname string) (amtemplate.Alert, error) {
	resp, err := hc.Get("http://127.0.0.1:9093/api/v2/alerts?filter=" + url.QueryEscape(`alertname="`+alertname+`"`))
	if err != nil {
		return amtemplate.Alert{}, err
	}
	defer resp.Body.Close()
	var alerts []struct {
		StartsAt    time.Time         `json:"startsAt"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
		return amtemplate.Alert{}, fmt.Errorf("alertmanager alerts: decode: %w", err)
	}
	if len(alerts) == 0 {
		return amtemplate.Alert{}, fmt.Errorf("alertmanager has no %s alert", alertname)
	}
	a := alerts[0]
	return amtemplate.Alert{Status: "firing", StartsAt: a.StartsAt, Labels: a.Labels, Annotations: a.Annotations}, nil
}
