package reconcile

import (
	"errors"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/alertmanager"
)

var (
	t0   = time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)
	now  = t0.Add(time.Hour)
	held = Held{Route: "ops", Fingerprint: "fp1", Labels: map[string]string{"alertname": "HostDown", "target": "a"}, StartsAt: t0}
	up   = now.Add(-time.Hour) // peer start long ago
)

func amAlert(state string, startsAt, endsAt time.Time, silencedBy ...string) alertmanager.Alert {
	return alertmanager.Alert{Fingerprint: "fp1", StartsAt: startsAt, EndsAt: endsAt, State: state, SilencedBy: silencedBy}
}

func peer(started time.Time, as ...alertmanager.Alert) alertmanager.Snapshot {
	return alertmanager.Snapshot{URL: "http://am", StartedAt: started, Alerts: as}
}

var down = alertmanager.Snapshot{URL: "http://am2", Err: errors.New("connection refused")}

func TestDecide(t *testing.T) {
	active := amAlert("active", t0, now.Add(4*time.Minute))
	silenced := amAlert("suppressed", t0, now.Add(4*time.Minute), "sil-1")
	for _, tc := range []struct {
		name    string
		snaps   []alertmanager.Snapshot
		prev    Track
		verdict Verdict
		reason  string
		endsAt  time.Time
		next    Track
	}{
		{"still active", []alertmanager.Snapshot{peer(up, active)}, Track{}, Firing, "", time.Time{}, Track{}},
		{"silenced is still firing", []alertmanager.Snapshot{peer(up, silenced)}, Track{}, Firing, "", time.Time{}, Track{Suppressed: true}},
		{"listed again after a miss", []alertmanager.Snapshot{peer(up, active)}, Track{MissingSince: now.Add(-time.Minute)}, Firing, "", time.Time{}, Track{}},
		{"silenced, then gone: resolved now", []alertmanager.Snapshot{peer(up)}, Track{Suppressed: true}, Resolved, ReasonSuppressed, now, Track{}},
		{"silenced, gone since earlier", []alertmanager.Snapshot{peer(up)}, Track{Suppressed: true, MissingSince: now.Add(-20 * time.Second)}, Resolved, ReasonSuppressed, now.Add(-20 * time.Second), Track{}},
		{"active, then gone: wait for the webhook", []alertmanager.Snapshot{peer(up)}, Track{}, Pending, "", time.Time{}, Track{MissingSince: now}},
		{"active, gone for LostGrace: lost", []alertmanager.Snapshot{peer(up)}, Track{MissingSince: now.Add(-10 * time.Minute)}, Resolved, ReasonLost, now.Add(-10 * time.Minute), Track{}},
		{"listed with endsAt passed", []alertmanager.Snapshot{peer(up, amAlert("active", t0, now.Add(-30*time.Second)))}, Track{}, Resolved, ReasonEnded, now.Add(-30 * time.Second), Track{}},
		{"new episode listed", []alertmanager.Snapshot{peer(up, amAlert("active", now.Add(-time.Minute), now.Add(time.Minute)))}, Track{}, Resolved, ReasonNewEpisode, now.Add(-time.Minute), Track{}},
		{"new episode, missed before", []alertmanager.Snapshot{peer(up, amAlert("active", now.Add(-time.Minute), now.Add(time.Minute)))}, Track{MissingSince: now.Add(-5 * time.Minute)}, Resolved, ReasonNewEpisode, now.Add(-5 * time.Minute), Track{}},
		{"alertmanager down: unknown, never resolved", []alertmanager.Snapshot{down}, Track{Suppressed: true}, Unknown, "", time.Time{}, Track{Suppressed: true}},
		{"no peers configured", nil, Track{Suppressed: true}, Unknown, "", time.Time{}, Track{Suppressed: true}},
		{"only a freshly restarted peer: unknown", []alertmanager.Snapshot{peer(now.Add(-30 * time.Second))}, Track{Suppressed: true}, Unknown, "", time.Time{}, Track{Suppressed: true}},
		{"restarted peer still lists it", []alertmanager.Snapshot{peer(now.Add(-30*time.Second), silenced)}, Track{}, Firing, "", time.Time{}, Track{Suppressed: true}},
		{"HA: one down, the other lists it", []alertmanager.Snapshot{down, peer(up, active)}, Track{}, Firing, "", time.Time{}, Track{}},
		{"HA: one down, the other misses a silenced one", []alertmanager.Snapshot{down, peer(up)}, Track{Suppressed: true}, Resolved, ReasonSuppressed, now, Track{}},
		{"HA: one lists it, the other does not", []alertmanager.Snapshot{peer(up), peer(up, silenced)}, Track{Suppressed: true}, Firing, "", time.Time{}, Track{Suppressed: true}},
		{"HA: fresh peer lists it, settled one not", []alertmanager.Snapshot{peer(now, active), peer(up)}, Track{}, Firing, "", time.Time{}, Track{}},
		{"end before start is clamped", []alertmanager.Snapshot{peer(up, amAlert("active", t0, t0.Add(-time.Minute)))}, Track{}, Resolved, ReasonEnded, t0, Track{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prev := State{"fp1": tc.prev}
			ds, next := Decide([]Held{held}, tc.snaps, prev, now, Options{})
			if len(ds) != 1 {
				t.Fatalf("got %d decisions, want 1", len(ds))
			}
			d := ds[0]
			if d.Verdict != tc.verdict || d.Reason != tc.reason || !d.EndsAt.Equal(tc.endsAt) {
				t.Errorf("got %s/%q ends %s, want %s/%q ends %s", d.Verdict, d.Reason, d.EndsAt, tc.verdict, tc.reason, tc.endsAt)
			}
			if d.Held.Route != "ops" || d.Held.Fingerprint != "fp1" {
				t.Errorf("decision lost the held alert: %+v", d.Held)
			}
			got, kept := next["fp1"]
			if tc.verdict == Resolved {
				if kept {
					t.Errorf("resolved alert still tracked: %+v", got)
				}
			} else if got != tc.next {
				t.Errorf("next track %+v, want %+v", got, tc.next)
			}
			if prev["fp1"] != tc.prev {
				t.Errorf("Decide modified prev: %+v", prev["fp1"])
			}
		})
	}
}

func TestDecideSuppressedDetails(t *testing.T) {
	a := amAlert("suppressed", t0, now.Add(time.Minute), "sil-2")
	b := amAlert("active", t0, now.Add(time.Minute))
	b.InhibitedBy = []string{"inh-1"}
	ds, _ := Decide([]Held{held}, []alertmanager.Snapshot{peer(up, b), peer(up, a)}, nil, now, Options{})
	d := ds[0]
	if d.State != "suppressed" || len(d.SilencedBy) != 1 || d.SilencedBy[0] != "sil-2" || len(d.InhibitedBy) != 1 {
		t.Errorf("got %+v, want suppressed, silenced by sil-2, inhibited by inh-1", d)
	}
}

// TestDecideGraceTimeline walks an alert through rounds 15 s apart.
func TestDecideGraceTimeline(t *testing.T) {
	opts := Options{SuppressedGrace: 20 * time.Second}
	state := State{}
	silenced := amAlert("suppressed", t0, now.Add(4*time.Minute), "s")
	rounds := []struct {
		snap alertmanager.Snapshot
		want Verdict
	}{
		{peer(up, silenced), Firing},
		{peer(up), Pending}, // first miss at now+15s
		{down, Unknown},     // no answer: wait, keep the first miss
		{peer(up), Resolved},
	}
	for i, r := range rounds {
		at := now.Add(time.Duration(i) * 15 * time.Second)
		ds, next := Decide([]Held{held}, []alertmanager.Snapshot{r.snap}, state, at, opts)
		if ds[0].Verdict != r.want {
			t.Fatalf("round %d: got %s, want %s", i, ds[0].Verdict, r.want)
		}
		if r.want == Resolved && !ds[0].EndsAt.Equal(now.Add(15*time.Second)) {
			t.Errorf("ends %s, want the first miss %s", ds[0].EndsAt, now.Add(15*time.Second))
		}
		state = next
	}
}
