package heartbeat

import (
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/store"
)

var t0 = time.Date(2026, 11, 24, 14, 2, 0, 0, time.UTC)

func TestDecide(t *testing.T) {
	seen := store.Heartbeat{Source: "/am", Last: t0}
	warned := seen
	warned.Warned = true
	const timeout = 5 * time.Minute
	up := t0.Add(-24 * time.Hour) // a receiver running since long before
	restart := t0.Add(time.Hour)  // a receiver restarted after an hour down
	tests := []struct {
		name    string
		h       store.Heartbeat
		started time.Time
		now     time.Time
		timeout time.Duration
		want    Decision
	}{
		{"never seen a heartbeat", store.Heartbeat{Source: "/am"}, up, t0.Add(time.Hour), timeout, Decision{}},
		{"fresh", seen, up, t0.Add(time.Minute), timeout, Decision{Next: t0.Add(timeout)}},
		{"just before the timeout", seen, up, t0.Add(timeout - time.Nanosecond), timeout, Decision{Next: t0.Add(timeout)}},
		{"at the timeout", seen, up, t0.Add(timeout), timeout, Decision{Warn: true}},
		{"long silent", seen, up, t0.Add(48 * time.Hour), timeout, Decision{Warn: true}},
		{"already warned", warned, up, t0.Add(time.Hour), timeout, Decision{}},
		{"already warned, restarted", warned, restart, restart.Add(time.Hour), timeout, Decision{}},
		{"disabled", seen, up, t0.Add(time.Hour), 0, Decision{}},
		{"clock behind the last heartbeat", seen, up, t0.Add(-time.Minute), timeout, Decision{Next: t0.Add(timeout)}},
		{"started at the last heartbeat", seen, t0, t0.Add(timeout), timeout, Decision{Warn: true}},
		{"restarted shortly after a heartbeat", seen, t0.Add(2 * time.Minute), t0.Add(timeout), timeout,
			Decision{Next: t0.Add(2*time.Minute + timeout)}},
		{"restarted after a long downtime", seen, restart, restart, timeout, Decision{Next: restart.Add(timeout)}},
		{"restarted, just before one timeout", seen, restart, restart.Add(timeout - time.Nanosecond), timeout,
			Decision{Next: restart.Add(timeout)}},
		{"restarted, one timeout later", seen, restart, restart.Add(timeout), timeout, Decision{Warn: true}},
		{"restarted, disabled", seen, restart, restart.Add(time.Hour), 0, Decision{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decide(tt.h, tt.started, tt.now, tt.timeout); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestArrive(t *testing.T) {
	ref := store.AlertRef{Route: "ops", Fingerprint: "heartbeat/am", StartsAt: t0}
	tests := []struct {
		name        string
		h           store.Heartbeat
		now         time.Time
		wantLast    time.Time
		wantBack    bool
		wantSilence time.Duration
	}{
		{"first heartbeat", store.Heartbeat{Source: "ops/am"}, t0, t0, false, 0},
		{"next heartbeat", store.Heartbeat{Source: "ops/am", Last: t0}, t0.Add(time.Minute), t0.Add(time.Minute), false, 0},
		{"back after a warning", store.Heartbeat{Source: "ops/am", Last: t0, Warned: true, Warning: ref},
			t0.Add(9 * time.Minute), t0.Add(9 * time.Minute), true, 9 * time.Minute},
		{"older than the last one (clock step)", store.Heartbeat{Source: "ops/am", Last: t0}, t0.Add(-time.Minute), t0, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, back, silence := Arrive(tt.h, tt.now)
			if !next.Last.Equal(tt.wantLast) || back != tt.wantBack || silence != tt.wantSilence ||
				next.Warned || next.Warning != (store.AlertRef{}) || next.Source != tt.h.Source {
				t.Errorf("got %+v back=%v silence=%v, want last %v back=%v silence=%v and no warning",
					next, back, silence, tt.wantLast, tt.wantBack, tt.wantSilence)
			}
		})
	}
}
