package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

func TestHeartbeatSection(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       Heartbeat
	}{
		{"absent: defaults", "", Heartbeat{Alertname: "Watchdog", Timeout: modelDuration(5 * time.Minute)}},
		{"empty section: defaults", "heartbeat: {}\n", Heartbeat{Alertname: "Watchdog", Timeout: modelDuration(5 * time.Minute)}},
		{"disabled", "heartbeat: {timeout: 0s}\n", Heartbeat{Alertname: "Watchdog"}},
		{"custom", "heartbeat:\n  alertname: DeadMansSwitch\n  timeout: 10m\n", Heartbeat{Alertname: "DeadMansSwitch", Timeout: modelDuration(10 * time.Minute)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yml")
			body := "telegram: {bot_token: \"123:abc\", chat_id: \"-100123\"}\n" + tt.yaml
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := load(path, noEnv)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Heartbeat != tt.want {
				t.Errorf("got %+v, want %+v", cfg.Heartbeat, tt.want)
			}
		})
	}
	if cfg, err := load("", env(map[string]string{EnvBotToken: "1:a", EnvChatID: "-1"})); err != nil || cfg.Heartbeat != DefaultHeartbeat() {
		t.Errorf("environment only: got %+v, %v, want the defaults", cfg.Heartbeat, err)
	}
}

func modelDuration(d time.Duration) model.Duration { return model.Duration(d) }
