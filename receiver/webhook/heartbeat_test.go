package webhook

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/receiver/config"
)

// takeWatchdog is a Heartbeats that takes the alerts named Watchdog and
// records the paths it saw them on.
type takeWatchdog struct {
	paths []string
	err   error
}

func (h *takeWatchdog) Take(path string, data *template.Data) ([]template.Alert, error) {
	if h.err != nil {
		return nil, h.err
	}
	var rest []template.Alert
	for _, a := range data.Alerts {
		if a.Labels["alertname"] == "Watchdog" {
			h.paths = append(h.paths, path)
			continue
		}
		rest = append(rest, a)
	}
	return rest, nil
}

func TestHeartbeatsNeverQueued(t *testing.T) {
	watchdog := alert("firing", "wd")
	watchdog.Labels = template.KV{"alertname": "Watchdog"}
	tests := []struct {
		name       string
		path       string
		alerts     []template.Alert
		err        error
		wantCode   int
		wantQueued int
		wantPaths  []string
	}{
		{"heartbeat alone", "/webhook", []template.Alert{watchdog}, nil, 200, 0, []string{""}},
		{"heartbeat on a route path", "/webhook/ops", []template.Alert{watchdog}, nil, 200, 0, []string{"ops"}},
		{"heartbeat with another alert", "/webhook", []template.Alert{watchdog, alert("firing", "a")}, nil, 200, 1, []string{""}},
		{"unknown route", "/webhook", []template.Alert{watchdog}, fmt.Errorf("x: %w", config.ErrUnknownRoute), 404, 0, nil},
		{"store failure", "/webhook", []template.Alert{watchdog}, errors.New("disk full"), 500, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, config.WebhookAuth{})
			hb := &takeWatchdog{err: tt.err}
			e.h.opts.Heartbeats = hb
			code, body := e.post(t, tt.path, payload("firing", tt.alerts...))
			if code != tt.wantCode {
				t.Fatalf("got %d %s, want %d", code, body, tt.wantCode)
			}
			if code == 200 && !strings.Contains(body, fmt.Sprintf(`"queued":%d`, tt.wantQueued)) {
				t.Errorf("answer: got %s, want queued %d", body, tt.wantQueued)
			}
			if fmt.Sprint(hb.paths) != fmt.Sprint(tt.wantPaths) {
				t.Errorf("heartbeat paths: got %v, want %v", hb.paths, tt.wantPaths)
			}
			jobs, _ := e.st.Pending(0)
			if len(jobs) != tt.wantQueued {
				t.Errorf("queue: got %d jobs, want %d", len(jobs), tt.wantQueued)
			}
			for _, j := range jobs {
				if strings.Contains(j.Text, "wd") {
					t.Errorf("heartbeat queued as %q", j.Text)
				}
			}
		})
	}
}
