package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestChatSectionsLoadAndHideSecrets(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "am.password"), []byte("am-Secret-9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "r.yml")
	body := `telegram: {bot_token: "1:x", chat_id: "-100"}
alertmanager:
  urls: [http://127.0.0.1:9093/am]
  reconcile_interval: 30s
  http_config:
    basic_auth: {username: downtime, password_file: am.password}
chat:
  updates: webhook
  webhook_secret_token: tg-Secret-7
  grafana_url: 'https://grafana.example/d/x?var-target={{ .Labels.target | urlquery }}'
routes:
  - {name: ops, receiver: telegram, chat_id: "-200", allowed_users: ["@alice_ops", "42"]}
`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := load(path, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	am, err := cfg.Alertmanager.WithURLs([]string{"http://127.0.0.1:9094", "http://127.0.0.1:9093/am"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(am.URLs, " "); got != "http://127.0.0.1:9093/am http://127.0.0.1:9094" {
		t.Errorf("urls with the flag's: got %q, want the file's then the new one, no duplicate", got)
	}
	if am.Interval().String() != "30s" || am.Client().Timeout.String() != "10s" {
		t.Errorf("interval %s, timeout %s: want 30s and the 10s default", am.Interval(), am.Client().Timeout)
	}
	if !cfg.AllowedUsers("ops").Allows(42, "") || !cfg.AllowedUsers("ops").Allows(7, "Alice_Ops") || cfg.AllowedUsers("ops").Allows(7, "eve_ops") {
		t.Errorf("allowed_users of ops: wrong decisions")
	}
	if !cfg.AllowedUsers("").Empty() {
		t.Errorf("default chat: want anyone allowed")
	}
	u, err := cfg.Chat.Grafana().Execute(LinkData{Labels: map[string]string{"target": "db 1"}})
	if err != nil || u != "https://grafana.example/d/x?var-target=db+1" {
		t.Errorf("grafana link: got %q, %v", u, err)
	}
	if cfg.Chat.UpdatesMode() != UpdatesWebhook || string(cfg.Chat.WebhookSecretToken) != "tg-Secret-7" {
		t.Errorf("chat: got %+v", cfg.Chat.UpdatesMode())
	}
	for _, s := range []string{cfg.String(), fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg)} {
		if strings.Contains(s, "Secret-") {
			t.Errorf("printed config contains a secret:\n%s", s)
		}
	}
}
