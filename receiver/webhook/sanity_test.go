package webhook

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/receiver/config"
)

func TestClampEndsAt(t *testing.T) {
	now := t0.Add(42 * time.Minute)
	far := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	tests := []struct {
		name   string
		status string
		ends   time.Time
		want   time.Time
		logged bool
	}{
		{"year 9999", "resolved", far, now, true},
		{"two hours ahead", "resolved", now.Add(2 * time.Hour), now, true},
		{"within the skew", "resolved", now.Add(MaxEndsAtAhead), now.Add(MaxEndsAtAhead), false},
		{"in the past", "resolved", now.Add(-time.Minute), now.Add(-time.Minute), false},
		{"firing, ends in the future", "firing", far, far, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			a := alert(tt.status, "a")
			a.EndsAt = tt.ends
			alerts := []template.Alert{a}
			clampEndsAt(alerts, now, slog.New(slog.NewTextHandler(&logs, nil)))
			if !alerts[0].EndsAt.Equal(tt.want) {
				t.Errorf("endsAt: got %v, want %v", alerts[0].EndsAt, tt.want)
			}
			if got := strings.Contains(logs.String(), "ends in the future"); got != tt.logged {
				t.Errorf("logged: got %v (%q), want %v", got, logs.String(), tt.logged)
			}
		})
	}
}

// The resolved alert's state records the clamped endsAt, so the resolved
// message and the edit say the real downtime.
func TestHandlerClampsEndsAt(t *testing.T) {
	e := newEnv(t, config.WebhookAuth{})
	a := alert("firing", "a")
	e.post(t, "/webhook", payload("firing", a))
	a.Status, a.EndsAt = "resolved", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	e.now = t0.Add(42 * time.Minute)
	if code, body := e.post(t, "/webhook", payload("resolved", a)); code != 200 {
		t.Fatalf("resolved: got %d %s, want 200", code, body)
	}
	jobs, err := e.st.Pending(0)
	if err != nil || len(jobs) < 2 {
		t.Fatalf("pending: got %d jobs, %v, want firing, resolved, edit", len(jobs), err)
	}
	states, err := e.st.AlertStates(jobs[1].Alerts)
	if err != nil || len(states) != 1 {
		t.Fatalf("alert states: got %v, %v", states, err)
	}
	var stored template.Alert
	if err := json.Unmarshal(states[0].Alert, &stored); err != nil {
		t.Fatal(err)
	}
	if !stored.EndsAt.Equal(e.now) {
		t.Errorf("stored endsAt: got %v, want now %v", stored.EndsAt, e.now)
	}
}

// The same fingerprint with different labels is refused (400, nothing
// queued), in one notification and across notifications.
func TestHandlerFingerprintLabels(t *testing.T) {
	e := newEnv(t, config.WebhookAuth{})
	a := alert("firing", "a")
	forged := alert("firing", "a")
	forged.Labels = template.KV{"alertname": "HostDown", "instance": "other-host"}
	code, body := e.post(t, "/webhook", payload("firing", a, forged))
	if want := `alerts[0] and alerts[1]: same \"fingerprint\" \"a\" with different labels`; code != 400 || !strings.Contains(body, want) {
		t.Errorf("one notification: got %d %s, want 400 %s", code, body, want)
	}
	checkTexts(t, e.texts(t))
	if code, body := e.post(t, "/webhook", payload("firing", a, a)); code != 200 {
		t.Errorf("same fingerprint, same labels: got %d %s, want 200", code, body)
	}
	code, body = e.post(t, "/webhook", payload("firing", forged))
	if want := `alerts[0]: \"fingerprint\" \"a\" was received before with different labels`; code != 400 || !strings.Contains(body, want) {
		t.Errorf("later notification: got %d %s, want 400 %s", code, body, want)
	}
	checkTexts(t, e.texts(t), "-1:firing0 a")
}
