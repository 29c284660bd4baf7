package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAlertmanagerRoutes checks where the shipped alertmanager.yml sends
// each alert, with `amtool config routes test` (the routing tree as
// Alertmanager itself resolves it).
func TestAlertmanagerRoutes(t *testing.T) {
	tools := requireTools(t, "amtool")
	config := filepath.Join(repoRoot(t), "deploy/alertmanager/alertmanager.yml")
	tests := []struct {
		labels []string
		want   string
	}{
		{[]string{"alertname=HostDown", "severity=critical", "job=ping", "instance=127.0.0.1:9426", "target=db1"}, "telegram"},
		// The vantage-point form: no instance.
		{[]string{"alertname=HostDown", "severity=critical", "job=ping", "target=db1"}, "telegram"},
		{[]string{"alertname=HostPathDown", "severity=warning", "job=ping", "target=db1"}, "telegram"},
		{[]string{"alertname=ProberCutOff", "severity=critical", "job=ping", "instance=127.0.0.1:9426", "vantage=fra"}, "telegram"},
		{[]string{"alertname=HostUnreachableBehindParent", "severity=info", "job=ping", "instance=127.0.0.1:9426",
			"target=h1", "parent=router"}, "silent"},
		{[]string{"alertname=PingExporterDown", "severity=critical", "job=ping", "instance=127.0.0.1:9426"}, "telegram"},
		{[]string{"alertname=HostFlapping", "severity=warning", "job=ping", "target=db1"}, "telegram"},
		{[]string{"alertname=Watchdog", "severity=none"}, "deadmansswitch"},
	}
	for _, tt := range tests {
		t.Run(tt.labels[0], func(t *testing.T) {
			args := append([]string{"config", "routes", "test", "--config.file=" + config}, tt.labels...)
			out, err := exec.Command(tools["amtool"], args...).Output()
			if err != nil {
				t.Fatalf("amtool %s: %v", strings.Join(args, " "), err)
			}
			if got := strings.TrimSpace(string(out)); got != tt.want {
				t.Errorf("%v: got receiver %q, want %q", tt.labels, got, tt.want)
			}
		})
	}
}
