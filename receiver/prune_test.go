package main

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/internal/clock/clocktest"
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
