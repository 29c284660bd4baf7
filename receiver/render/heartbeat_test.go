package render

import (
	"testing"
	"time"

	amtemplate "github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/receiver/config"
)

// watchdog is the alert the heartbeat watcher renders: Alertmanager's
// Watchdog, starting when the heartbeats stopped.
func watchdog(last time.Time) amtemplate.Alert {
	return amtemplate.Alert{Status: "firing", Labels: amtemplate.KV{"alertname": "Watchdog"}, StartsAt: last}
}

func TestHeartbeatGolden(t *testing.T) {
	r := newRenderer(t, config.Templates{})
	last := time.Date(2026, 11, 24, 14, 2, 31, 0, time.UTC)
	back := watchdog(last)
	back.Status, back.EndsAt = "resolved", last.Add(9*time.Minute)
	tests := []struct {
		name string
		data Data
	}{
		{"heartbeat_lost", Data{Kind: HeartbeatLost, Receiver: "telegram", Route: "ops", ExternalURL: "http://alertmanager.example:9093",
			Alerts: []amtemplate.Alert{watchdog(last)}, Now: last.Add(6 * time.Minute)}},
		{"heartbeat_lost_default_chat", Data{Kind: HeartbeatLost, Receiver: "telegram",
			Alerts: []amtemplate.Alert{watchdog(last)}, Now: last.Add(6 * time.Minute)}},
		{"heartbeat_lost_next_day", Data{Kind: HeartbeatLost, Receiver: `team <a&b>`, ExternalURL: `http://am.example/?a=1&b=<2>`,
			Alerts: []amtemplate.Alert{watchdog(last)}, Now: last.Add(26 * time.Hour)}},
		{"heartbeat_back", Data{Kind: HeartbeatBack, Receiver: "telegram", Route: "ops", ExternalURL: "http://alertmanager.example:9093",
			Alerts: []amtemplate.Alert{back}, Now: last.Add(9 * time.Minute)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := r.Render(tt.data)
			if err != nil {
				t.Fatal(err)
			}
			checkMessages(t, msgs, 1)
			golden(t, tt.name, msgs)
		})
	}
}
