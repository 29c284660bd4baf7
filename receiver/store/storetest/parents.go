package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/store"
)

// testParents specifies the watched parents (store.ParentsTx,
// store.Parents): round trip of every field (a nil Shown, never edited,
// stays distinct from an empty one), overwrite, order, delete, rollback,
// and Prune.
func testParents(t *testing.T, open Open) {
	s := open(t)
	if ps, err := s.WatchedParents(); err != nil || len(ps) != 0 {
		t.Fatalf("WatchedParents on an empty store: got %v, %v, want none", ps, err)
	}
	router := store.Parent{Ref: store.AlertRef{Route: "ops", Fingerprint: "fp-router1", StartsAt: t0.Add(-time.Hour)},
		Job: "ping", Target: "router1", Shown: []string{"db1", "web1"}, Updated: t0}
	sw := store.Parent{Ref: store.AlertRef{Fingerprint: "fp-switch", StartsAt: t0}, Target: "switch", Updated: t0}
	empty := store.Parent{Ref: store.AlertRef{Fingerprint: "fp-gw", StartsAt: t0}, Job: "ping", Target: "gw",
		Shown: []string{}, Updated: t0.Add(-8 * 24 * time.Hour)}
	err := s.Update(func(tx store.Tx) error {
		first := router
		first.Shown = nil
		for _, p := range []store.Parent{first, router, sw, empty} { // router overwrites first
			if err := tx.WatchParent(p); err != nil {
				return err
			}
		}
		return tx.UnwatchParent(store.AlertRef{Fingerprint: "unknown", StartsAt: t0})
	})
	if err != nil {
		t.Fatalf("WatchParent: %v", err)
	}
	checkParents(t, s, empty, sw, router) // ordered by Ref.Key(): "/fp-gw", "/fp-switch", "ops/..."

	boom := errors.New("boom")
	err = s.Update(func(tx store.Tx) error {
		if err := tx.UnwatchParent(router.Ref); err != nil {
			return err
		}
		changed := sw
		changed.Shown = []string{"x"}
		if err := tx.WatchParent(changed); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update: got %v, want %v", err, boom)
	}
	checkParents(t, s, empty, sw, router)

	if err := s.Update(func(tx store.Tx) error { return tx.UnwatchParent(sw.Ref) }); err != nil {
		t.Fatalf("UnwatchParent: %v", err)
	}
	checkParents(t, s, empty, router)

	// Prune: the entry last written before the cutoff goes, like an alert
	// state; the other stays.
	n, err := s.Prune(t0.Add(-7 * 24 * time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("Prune: got %d, %v, want 1 deleted (the old parent)", n, err)
	}
	checkParents(t, s, router)
}

func checkParents(t *testing.T, s store.Store, want ...store.Parent) {
	t.Helper()
	got, err := s.WatchedParents()
	if err != nil {
		t.Fatalf("WatchedParents: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("WatchedParents: got %d %+v, want %d %+v", len(got), got, len(want), want)
	}
	for i := range want {
		g, w := got[i], want[i]
		same := g.Ref.Key() == w.Ref.Key() && g.Job == w.Job && g.Target == w.Target &&
			slices.Equal(g.Shown, w.Shown) && (g.Shown == nil) == (w.Shown == nil) && g.Updated.Equal(w.Updated)
		if !same {
			t.Errorf("parent %d: got %+v, want %+v", i, g, w)
		}
	}
}
