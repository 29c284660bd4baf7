package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

func TestIncidentSections(t *testing.T) {
	cfg := mustLoad(t, "testdata/incidents.yml")
	if got, want := cfg.Incidents.Retention, model.Duration(30*24*time.Hour); got != want {
		t.Errorf("incidents.retention: got %s, want %s", got, want)
	}
	sp := cfg.StatusPage
	if sp.Title != "Home lab" || sp.Refresh != model.Duration(30*time.Second) ||
		sp.GrafanaURL != "http://grafana.example.lan:3000/d/downtime-hosts" || sp.PrometheusURL != "http://prometheus.example.lan:9090" {
		t.Errorf("status_page: got %+v", sp)
	}
	d := cfg.Routes[0].Digest
	if d == nil {
		t.Fatal("route ops: no digest")
	}
	if h, m := d.Time(); d.Period != DigestWeekly || d.Day() != time.Monday || h != 8 || m != 30 || d.QuietLine != "All quiet." {
		t.Errorf("digest: got %+v at %02d:%02d on %s, want weekly at 08:30 on Monday", d, h, m, d.Day())
	}
	if cfg.Routes[1].Digest != nil {
		t.Errorf("route family: got digest %+v, want none", cfg.Routes[1].Digest)
	}
	d = cfg.Telegram.Digest
	if d == nil {
		t.Fatal("default chat: no digest")
	}
	if h, m := d.Time(); d.Period != DigestDaily || h != 7 || m != 45 || d.QuietLine != "" {
		t.Errorf("default chat's digest: got %+v at %02d:%02d, want daily at 07:45", d, h, m)
	}
}

// TestDefaultChatDigestChatFromEnv: the default chat of telegram.digest
// may come from TELEGRAM_CHAT_ID, like the default chat itself.
func TestDefaultChatDigestChatFromEnv(t *testing.T) {
	cfg, err := load("testdata/invalid-telegram-digest-no-chat-id.yml", env(map[string]string{EnvChatID: "-100999"}))
	if err != nil {
		t.Fatalf("with %s: %v", EnvChatID, err)
	}
	if cfg.Telegram.ChatID != "-100999" || cfg.Telegram.Digest == nil || cfg.Telegram.Digest.Period != DigestDaily {
		t.Errorf("got chat %q digest %+v, want -100999 and a daily digest", cfg.Telegram.ChatID, cfg.Telegram.Digest)
	}
}

func TestIncidentDefaults(t *testing.T) {
	cfg := mustLoad(t, "testdata/good.yml")
	if got, want := cfg.Incidents.Retention, model.Duration(DefaultRetention); got != want {
		t.Errorf("default incidents.retention: got %s, want %s", got, want)
	}
	if got, want := cfg.StatusPage.Refresh, model.Duration(time.Minute); got != want {
		t.Errorf("default status_page.refresh: got %s, want %s", got, want)
	}
}

// TestReadmeIncidentExamples: the status_page/incidents and digest
// examples of receiver/README.md load as written.
func TestReadmeIncidentExamples(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Status page, incident API, CLI and digest")
	if !ok {
		t.Fatal("README has no status page section")
	}
	n := 0
	for _, block := range strings.Split(section, "```yaml\n")[1:] {
		yml, _, _ := strings.Cut(block, "```")
		full := "telegram:\n  bot_token: x\n  chat_id: \"-1\"\n" + yml
		if rest, ok := strings.CutPrefix(yml, "telegram:\n"); ok { // the default chat's own section
			full = "telegram:\n  bot_token: x\n" + rest
		}
		path := filepath.Join(t.TempDir(), "receiver.yml")
		if err := os.WriteFile(path, []byte(full), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := load(path, noEnv); err != nil {
			t.Errorf("README example:\n%s\ngot %v", yml, err)
		}
		n++
	}
	if n != 3 {
		t.Errorf("got %d yaml examples in the section, want 3 (status_page/incidents, a route's digest, the default chat's)", n)
	}
}
