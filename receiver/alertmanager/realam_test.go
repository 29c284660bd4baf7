package alertmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// amBinary finds Debian's Alertmanager; it skips with the reason, or fails
// under CI=true.
func amBinary(t *testing.T) string {
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

// freeAddr returns a 127.0.0.1 address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

const amConfig = `route:
  receiver: blackhole
  group_wait: 1h
receivers:
  - name: blackhole
inhibit_rules:
  - source_matchers: [alertname="ExporterDown"]
    target_matchers: [alertname="HostDown"]
    equal: [job]
`

// startAlertmanager runs the real Alertmanager on a free loopback port with a
// temporary storage dir, no clustering, and returns its URL.
func startAlertmanager(t *testing.T) *url.URL {
	t.Helper()
	bin := amBinary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(amConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
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

// postAlert sends alerts to Alertmanager as Prometheus would.
func postAlert(t *testing.T, u *url.URL, labels map[string]string, startsAt, endsAt time.Time) {
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

func newTestClient(t *testing.T, urls ...*url.URL) *Client {
	t.Helper()
	c, err := New(Config{URLs: urls, Timeout: 5 * time.Second}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var hostA = map[string]string{"alertname": "HostDown", "target": "host-a", "job": "ping",
	"instance": "exporter:9426", "severity": "page", "route": "ops"}

func findAlert(as []Alert, target string) (Alert, bool) {
	for _, a := range as {
		if a.Labels["target"] == target {
			return a, true
		}
	}
	return Alert{}, false
}

func TestRealSilenceLifecycle(t *testing.T) {
	u := startAlertmanager(t)
	c := newTestClient(t, u)
	ctx := context.Background()
	now := time.Now()
	postAlert(t, u, hostA, now.Add(-time.Minute), now.Add(time.Hour))
	postAlert(t, u, map[string]string{"alertname": "HostDown", "target": "host-b", "job": "ping"}, now.Add(-time.Minute), now.Add(time.Hour))

	created, err := c.CreateSilence(ctx, SilenceRequest{Labels: hostA, CreatedBy: "@alice",
		Comment: "from Telegram: https://t.me/c/123/45", StartsAt: now, EndsAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatalf("CreateSilence: %v", err)
	}
	if created.URL != u.String() {
		t.Errorf("created on %q, want %q", created.URL, u)
	}

	sils, err := c.ListSilences(ctx)
	if err != nil {
		t.Fatalf("ListSilences: %v", err)
	}
	if len(sils) != 1 {
		t.Fatalf("got %d silences, want exactly 1: %+v", len(sils), sils)
	}
	s := sils[0]
	want := `[alertname="HostDown" instance="exporter:9426" job="ping" target="host-a"]`
	if got := fmt.Sprint(sortedMatchers(s.Matchers)); got != want {
		t.Errorf("matchers %s, want %s", got, want)
	}
	if s.ID != created.ID || s.CreatedBy != "@alice" || s.State != "active" || !strings.Contains(s.Comment, "t.me/c/123/45") {
		t.Errorf("silence %+v, want id %s by @alice, active, comment with the link", s, created.ID)
	}
	if d := s.EndsAt.Sub(now.Add(time.Hour)); d < -time.Second || d > time.Second {
		t.Errorf("endsAt %s, want %s", s.EndsAt, now.Add(time.Hour))
	}

	as, err := c.Alerts(ctx, nil)
	if err != nil {
		t.Fatalf("Alerts: %v", err)
	}
	a, ok := findAlert(as, "host-a")
	if !ok || a.State != "suppressed" || len(a.SilencedBy) != 1 || a.SilencedBy[0] != created.ID {
		t.Errorf("host-a alert %+v (found %v), want suppressed, silenced by %s", a, ok, created.ID)
	}
	if b, ok := findAlert(as, "host-b"); !ok || b.State != "active" {
		t.Errorf("host-b alert %+v (found %v), want active: the silence must not cover it", b, ok)
	}

	if err := c.ExpireSilence(ctx, created.ID); err != nil {
		t.Fatalf("ExpireSilence: %v", err)
	}
	if sils, err := c.ListSilences(ctx); err != nil || len(sils) != 0 {
		t.Errorf("after expiry: %d active silences (err %v), want 0", len(sils), err)
	}
	as, _ = c.Alerts(ctx, []string{`target="host-a"`})
	if len(as) != 1 || as[0].State != "active" {
		t.Errorf("after expiry host-a alerts %+v, want one, active", as)
	}
	// Expiring twice is harmless (0.25 answers 200, later versions 404).
	if err := c.ExpireSilence(ctx, created.ID); err != nil && !errors.Is(err, ErrSilenceNotFound) {
		t.Errorf("expire twice: %v, want nil or ErrSilenceNotFound", err)
	}
	err = c.ExpireSilence(ctx, "4e2c5f43-1b0a-4a6e-9a51-2f1a1d0c0b7e")
	if !errors.Is(err, ErrSilenceNotFound) || !strings.Contains(err.Error(), u.String()) {
		t.Errorf("expire unknown: err %v, want ErrSilenceNotFound naming %s", err, u)
	}
}

func sortedMatchers(ms []Matcher) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.String()
	}
	sortStrings(out)
	return out
}

func TestRealHAFirstPeerDown(t *testing.T) {
	u := startAlertmanager(t)
	down := &url.URL{Scheme: "http", Host: freeAddr(t)}
	c := newTestClient(t, down, u)
	now := time.Now()
	created, err := c.CreateSilence(context.Background(), SilenceRequest{Labels: hostA, CreatedBy: "1234567",
		StartsAt: now, EndsAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatalf("CreateSilence with the first peer down: %v", err)
	}
	if created.URL != u.String() {
		t.Errorf("created on %s, want the second peer %s", created.URL, u)
	}
	snaps := c.Snapshots(context.Background(), nil)
	if len(snaps) != 2 || snaps[0].Err == nil || snaps[1].Err != nil {
		t.Fatalf("snapshots %+v, want the first failing and the second answering", snaps)
	}
	if !strings.Contains(snaps[0].Err.Error(), down.String()) {
		t.Errorf("error %q does not name %s", snaps[0].Err, down)
	}
	if snaps[1].StartedAt.IsZero() || snaps[1].StartedAt.After(time.Now()) {
		t.Errorf("started at %s, want a past time", snaps[1].StartedAt)
	}
}

func TestRealInhibitedAlert(t *testing.T) {
	u := startAlertmanager(t)
	c := newTestClient(t, u)
	now := time.Now()
	postAlert(t, u, map[string]string{"alertname": "ExporterDown", "job": "ping"}, now.Add(-time.Minute), now.Add(time.Hour))
	postAlert(t, u, hostA, now.Add(-time.Minute), now.Add(time.Hour))
	as, err := c.Alerts(context.Background(), []string{`alertname="HostDown"`})
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].State != "suppressed" || len(as[0].InhibitedBy) != 1 {
		t.Errorf("alerts %+v, want one HostDown, suppressed and inhibited", as)
	}
	// Prometheus resolves it (endsAt now): Alertmanager stops listing it.
	postAlert(t, u, hostA, now.Add(-time.Minute), time.Now())
	as, _ = c.Alerts(context.Background(), []string{`alertname="HostDown"`})
	if len(as) != 0 {
		t.Errorf("after resolve: %+v, want none listed", as)
	}
}
