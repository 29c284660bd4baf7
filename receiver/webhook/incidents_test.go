package webhook

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/incident"
	"github.com/downtime-detector/downtime/receiver/store"
)

// memTx is store.IncidentTx over incident.Memory.
type memTx struct{ m *incident.Memory }

func (t memTx) OpenIncident(inc incident.Incident) (incident.Incident, error) {
	return t.m.Open(context.Background(), inc)
}

func (t memTx) ResolveIncident(key incident.Key, end time.Time) (incident.Incident, error) {
	return t.m.Resolve(context.Background(), key, end)
}

// TestRecordIncident walks one alert through its notifications, deciding
// as enqueue does, and checks the incident log after each.
func TestRecordIncident(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	route := config.Route{Name: "ops", Reminders: config.DefaultReminders()}
	alert := func(status string, startsAt time.Time, ann map[string]string) template.Alert {
		a := template.Alert{Status: status, Fingerprint: "fp1", StartsAt: startsAt,
			Labels: template.KV{"alertname": "HostDown", "target": "nas", "job": "ping"}, Annotations: ann}
		if status == "resolved" {
			a.EndsAt = startsAt.Add(30 * time.Minute)
		}
		return a
	}
	type want struct {
		n     int       // incidents in the log
		open  bool      // the newest is open
		start time.Time // of the newest
		end   time.Time // of the newest (zero while open)
	}
	log := incident.NewMemory()
	var st store.AlertState
	for _, step := range []struct {
		name string
		a    template.Alert
		now  time.Time
		want want
	}{
		{"firing opens at the real start", alert("firing", t0, map[string]string{"downtime_for": "2m"}), t0,
			want{1, true, t0.Add(-2 * time.Minute), time.Time{}}},
		{"a repeat changes nothing", alert("firing", t0, nil), t0.Add(5 * time.Minute),
			want{1, true, t0.Add(-2 * time.Minute), time.Time{}}},
		{"resolved closes at endsAt", alert("resolved", t0, nil), t0.Add(time.Hour),
			want{1, false, t0.Add(-2 * time.Minute), t0.Add(30 * time.Minute)}},
		{"a stale firing after resolved reopens nothing", alert("firing", t0, nil), t0.Add(time.Hour),
			want{1, false, t0.Add(-2 * time.Minute), t0.Add(30 * time.Minute)}},
	} {
		dec := Decide(step.a, st, route.Reminders, step.now)
		st = dec.State
		if err := recordIncident(memTx{log}, route, step.a, dec, step.now); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		got, _ := log.List(context.Background(), incident.Filter{})
		if len(got) != step.want.n || got[0].Open() != step.want.open || !got[0].Start.Equal(step.want.start) ||
			!got[0].End.Equal(step.want.end) || got[0].Target != "nas" || got[0].Route != "ops" {
			t.Errorf("%s: got %+v, want %d incident(s), newest open=%v start %v end %v", step.name, got,
				step.want.n, step.want.open, step.want.start, step.want.end)
		}
	}

	// A resolved notification the log never saw firing is recorded whole.
	late := incident.NewMemory()
	a := alert("resolved", t0, nil)
	if err := recordIncident(memTx{late}, route, a, Decide(a, store.AlertState{}, route.Reminders, t0.Add(time.Hour)), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, _ := late.List(context.Background(), incident.Filter{})
	if len(got) != 1 || got[0].Open() || got[0].Duration(t0) != 30*time.Minute {
		t.Errorf("late resolved: got %+v, want one resolved incident of 30m", got)
	}
}
