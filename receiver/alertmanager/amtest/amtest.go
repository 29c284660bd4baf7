// Package amtest runs Debian's real Alertmanager for tests.
package amtest

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Binary finds Debian's Alertmanager; it skips with the reason, or fails
// under CI=true.
func Binary(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"prometheus-alertmanager", "alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "test needs Debian's prometheus-alertmanager in PATH (apt-get install prometheus-alertmanager)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip("skipping: " + msg)
	return ""
}

// FreeAddr returns a 127.0.0.1 address nobody listens on right now.
func FreeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// Config routes everything to a receiver without integrations and makes
// ExporterDown inhibit HostDown of the same job.
const Config = `route:
  receiver: blackhole
  group_wait: 1h
receivers:
  - name: blackhole
inhibit_rules:
  - source_matchers: [alertname="ExporterDown"]
    target_matchers: [alertname="HostDown"]
    equal: [job]
`

// Start runs the real Alertmanager on a free loopback port with a
// temporary storage dir, no clustering, and returns its URL.
func Start(t *testing.T) *url.URL {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(Config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=")
	logf, err := os.Create(filepath.Join(dir, "alertmanager.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start alertmanager: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "alertmanager.log"))
			t.Logf("alertmanager log:\n%s", b)
		}
	})
	u := &url.URL{Scheme: "http", Host: addr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(u.String() + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return u
			}
		}
		select {
		case <-done:
			t.Fatal("alertmanager exited before it was ready")
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager not ready at %s after 30 s: %v", u, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PostAlert sends alerts to Alertmanager as Prometheus would.
func PostAlert(t *testing.T, u *url.URL, labels map[string]string, startsAt, endsAt time.Time) {
	t.Helper()
	body, _ := json.Marshal([]map[string]any{{"labels": labels, "startsAt": startsAt, "endsAt": endsAt,
		"generatorURL": "http://prometheus.example/graph"}})
	resp, err := http.Post(u.String()+"/api/v2/alerts", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /api/v2/alerts: HTTP %d", resp.StatusCode)
	}
}
