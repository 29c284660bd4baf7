package main

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/internal/clock/clocktest"
	"github.com/downtime-detector/downtime/receiver/incident"
	"github.com/downtime-detector/downtime/receiver/incident/incidenttest"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/bolt"
)

// TestPrune moves a fake clock: keys older than pruneAge go at start and at
// every pruneInterval, younger ones stay.
func TestPrune(t *testing.T) {
	st, err := bolt.OpenWith(t.TempDir(), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	seen := func(key string) bool {
		var ok bool
		st.Update(func(tx store.Tx) error { ok, err = tx.Seen(key); return err })
		return ok
	}
	mark := func(key string, at time.Time) {
		if _, err := store.Enqueue(st, []store.Job{{Kind: store.KindFiring, Keys: []string{key}}}, at); err != nil {
			t.Fatal(err)
		}
	}
	fc := clocktest.New(t0)
	mark("old", t0.Add(-pruneAge-time.Minute))
	mark("young", t0.Add(-pruneAge+pruneInterval/2))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { prune(ctx, st, fc, slog.New(slog.DiscardHandler), nil) })
	defer func() { cancel(); wg.Wait() }()

	fc.WaitTimers(1) // first pass done
	if seen("old") || !seen("young") {
		t.Fatalf("after the first pass: old=%v young=%v, want false true", seen("old"), seen("young"))
	}
	fc.Advance(pruneInterval)
	fc.WaitTimers(1)
	if seen("young") {
		t.Errorf("young key survived the pass one interval later")
	}
}

// TestPruneIncidents: the prune pass also drops resolved incidents older
// than the retention in force, and never open ones.
func TestPruneIncidents(t *testing.T) {
	st, err := bolt.OpenWith(t.TempDir(), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	log := st.Incidents()
	old, _ := log.Open(ctx, incidenttest.Fixture("ops", "fp1", "nas", t0.Add(-50*time.Hour)))
	if _, err := log.Resolve(ctx, old.Key, t0.Add(-49*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := log.Open(ctx, incidenttest.Fixture("ops", "fp2", "db", t0.Add(-100*time.Hour))); err != nil {
		t.Fatal(err)
	}
	fc := clocktest.New(t0)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		prune(ctx, st, fc, slog.New(slog.DiscardHandler), func() time.Duration { return 48 * time.Hour })
	})
	defer func() { cancel(); wg.Wait() }()
	fc.WaitTimers(1)
	left, err := log.List(context.Background(), incident.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].Target != "db" || !left[0].Open() {
		t.Errorf("after pruning with 48h retention: got %+v, want only the open db incident", left)
	}
}
