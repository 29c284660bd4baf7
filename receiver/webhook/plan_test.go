package webhook

import (
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/store"
)

var (
	t0        = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	reminders = config.Reminders{After: []model.Duration{model.Duration(10 * time.Minute), model.Duration(30 * time.Minute), model.Duration(time.Hour)}, Final: true}
)

func alert(status string, fp string) template.Alert {
	return template.Alert{Status: status, Fingerprint: fp, StartsAt: t0,
		Labels: template.KV{"alertname": "HostDown", "instance": fp}}
}

func TestDecide(t *testing.T) {
	firing := store.AlertState{Firing: true}
	for _, tc := range []struct {
		name         string
		status       string
		st           store.AlertState
		down         time.Duration
		wantKind     store.Kind
		wantReminder int
		wantFinal    bool
		wantEdit     bool
		wantState    store.AlertState
	}{
		{"first firing", "firing", store.AlertState{}, 0, store.KindFiring, 0, false, false, store.AlertState{Firing: true}},
		{"first firing seen late skips passed reminders", "firing", store.AlertState{}, 35 * time.Minute, store.KindFiring, 0, false, false, store.AlertState{Firing: true, Reminder: 2}},
		{"repeat before first threshold", "firing", firing, 5 * time.Minute, "", 0, false, false, firing},
		{"first reminder", "firing", firing, 10 * time.Minute, store.KindReminder, 1, false, false, store.AlertState{Firing: true, Reminder: 1}},
		{"repeat after first reminder", "firing", store.AlertState{Firing: true, Reminder: 1}, 25 * time.Minute, "", 0, false, false, store.AlertState{Firing: true, Reminder: 1}},
		{"skip to final", "firing", store.AlertState{Firing: true}, 2 * time.Hour, store.KindReminder, 3, true, false, store.AlertState{Firing: true, Reminder: 3}},
		{"silence after final", "firing", store.AlertState{Firing: true, Reminder: 3}, 5 * time.Hour, "", 0, false, false, store.AlertState{Firing: true, Reminder: 3}},
		{"resolved after firing", "resolved", firing, time.Hour, store.KindResolved, 0, false, true, store.AlertState{Firing: true, Resolved: true}},
		{"resolved never seen firing", "resolved", store.AlertState{}, time.Hour, store.KindResolved, 0, false, false, store.AlertState{Resolved: true}},
		{"resolved twice", "resolved", store.AlertState{Firing: true, Resolved: true}, time.Hour, "", 0, false, false, store.AlertState{Firing: true, Resolved: true}},
		{"acknowledged: no reminder", "firing", store.AlertState{Firing: true, AckedBy: "@bob"}, 2 * time.Hour, "", 0, false, false, store.AlertState{Firing: true, AckedBy: "@bob"}},
		{"acknowledged: recovery still reported", "resolved", store.AlertState{Firing: true, AckedBy: "@bob"}, time.Hour, store.KindResolved, 0, false, true, store.AlertState{Firing: true, Resolved: true, AckedBy: "@bob"}},
		{"stale firing after resolved", "firing", store.AlertState{Firing: true, Resolved: true}, time.Hour, "", 0, false, false, store.AlertState{Firing: true, Resolved: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := t0.Add(tc.down)
			if tc.down == 10*time.Minute { // same decision when the rule's for: is reported
				a := alert(tc.status, "a")
				a.Annotations = template.KV{"downtime_for": "2m"}
				if d := Decide(a, tc.st, reminders, now.Add(-2*time.Minute)); d.Kind != tc.wantKind || d.Reminder != tc.wantReminder {
					t.Errorf("with downtime_for 2m: got %q/%d, want %q/%d", d.Kind, d.Reminder, tc.wantKind, tc.wantReminder)
				}
			}
			d := Decide(alert(tc.status, "a"), tc.st, reminders, now)
			tc.wantState.Updated = now
			if d.Kind != tc.wantKind || d.Reminder != tc.wantReminder || d.Final != tc.wantFinal || d.Edit != tc.wantEdit {
				t.Errorf("got kind %q reminder %d final %v edit %v, want %q %d %v %v",
					d.Kind, d.Reminder, d.Final, d.Edit, tc.wantKind, tc.wantReminder, tc.wantFinal, tc.wantEdit)
			}
			if !reflect.DeepEqual(d.State, tc.wantState) {
				t.Errorf("state: got %+v, want %+v", d.State, tc.wantState)
			}
		})
	}
}

// Repeats every 5 minutes for 70 minutes with reminders at 10m/30m/1h give
// exactly: firing, reminder 1 (10m), reminder 2 (30m), final (60m).
func TestDecideRepeatSchedule(t *testing.T) {
	var st store.AlertState
	var got []string
	for m := 0; m <= 70; m += 5 {
		d := Decide(alert("firing", "a"), st, reminders, t0.Add(time.Duration(m)*time.Minute))
		st = d.State
		switch {
		case d.Kind == store.KindFiring:
			got = append(got, "firing@0")
		case d.Final:
			got = append(got, "final@"+time.Duration(m*int(time.Minute)).String())
		case d.Kind == store.KindReminder:
			got = append(got, "reminder"+string(rune('0'+d.Reminder))+"@"+time.Duration(m*int(time.Minute)).String())
		}
	}
	want := []string{"firing@0", "reminder1@10m0s", "reminder2@30m0s", "final@1h0m0s"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d: got %s, want %s", i, got[i], want[i])
		}
	}
}

func TestGroupPlans(t *testing.T) {
	d := config.Route{Name: "default", ChatID: "-1"}
	other := config.Route{Name: "ops", ChatID: "-2"}
	ps := []planned{
		{alert("resolved", "r1"), d, Decision{Kind: store.KindResolved, Edit: true}},
		{alert("firing", "f1"), d, Decision{Kind: store.KindFiring}},
		{alert("firing", "f2"), d, Decision{Kind: store.KindFiring}},
		{alert("firing", "f3"), other, Decision{Kind: store.KindFiring}},
		{alert("firing", "n1"), d, Decision{}},
		{alert("firing", "m2"), d, Decision{Kind: store.KindReminder, Reminder: 2}},
		{alert("firing", "m1"), d, Decision{Kind: store.KindReminder, Reminder: 1}},
	}
	gs := groupPlans(ps, &template.Data{}, t0)
	type g struct {
		route string
		kind  store.Kind
		n     int
	}
	want := []g{{"default", store.KindFiring, 2}, {"ops", store.KindFiring, 1},
		{"default", store.KindReminder, 1}, {"default", store.KindReminder, 1},
		{"default", store.KindResolved, 1}, {"default", store.KindEdit, 1}}
	if len(gs) != len(want) {
		t.Fatalf("got %d groups, want %d", len(gs), len(want))
	}
	for i, w := range want {
		if gs[i].Dest.Name != w.route || gs[i].Kind != w.kind || len(gs[i].Alerts) != w.n {
			t.Errorf("group %d: got %s/%s/%d alerts, want %s/%s/%d", i, gs[i].Dest.Name, gs[i].Kind, len(gs[i].Alerts), w.route, w.kind, w.n)
		}
	}
	if gs[2].Reminder != 1 || gs[3].Reminder != 2 {
		t.Errorf("reminder order: got %d, %d, want 1, 2", gs[2].Reminder, gs[3].Reminder)
	}
}

func TestNothingQueued(t *testing.T) {
	repeat := planned{dec: Decision{State: store.AlertState{Firing: true}}}
	resolved := planned{dec: Decision{State: store.AlertState{Firing: true, Resolved: true}}}
	acked := planned{dec: Decision{State: store.AlertState{Firing: true, AckedBy: "@alice"}}}
	for _, tt := range []struct {
		name     string
		ps       []planned
		nPlanned int
		want     string
	}{
		{"replay", []planned{repeat}, 1, "replayed: every message it needs was queued before (idempotency keys seen)"},
		{"repeats", []planned{repeat, repeat}, 0, "repeat, no reminder due yet: 2"},
		{"mixed", []planned{resolved, repeat, acked}, 0, "repeat, no reminder due yet: 1; already resolved: 1; acknowledged, no reminders: 1"},
		{"empty", nil, 0, "no alerts"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := nothingQueued(tt.ps, tt.nPlanned); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
