package storetest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/store"
)

// These checks came from the PostgreSQL store's own suite, written when it
// was not yet behind store.Store; they pin down edges both stores share.

func testEmptyStore(t *testing.T, open Open) {
	s := open(t)
	st, err := s.Stats()
	if err != nil || st != (store.Stats{}) {
		t.Errorf("stats: got %+v, %v, want zero", st, err)
	}
	if jobs, err := s.Pending(0); err != nil || len(jobs) != 0 {
		t.Errorf("pending: got %v, %v, want none", jobs, err)
	}
	if dl, err := s.DeadLetters(); err != nil || len(dl) != 0 {
		t.Errorf("dead letters: got %v, %v, want none", dl, err)
	}
	if c, err := s.ChatFor("-5"); err != nil || c != "-5" {
		t.Errorf("ChatFor(-5): got %q, %v, want -5", c, err)
	}
	if r, err := s.RetryDeadLetters(nil, t0); err != nil || len(r) != 0 {
		t.Errorf("RetryDeadLetters(all) on an empty store: got %v, %v, want nothing", r, err)
	}
}

func testEnqueueEdges(t *testing.T, open Open) {
	s := open(t)
	if _, err := store.Enqueue(s, []store.Job{job(store.KindFiring, "a", "k1"), job(store.KindFiring, "b", "k2"),
		job(store.KindFiring, "c", "k3")}, t0); err != nil {
		t.Fatal(err)
	}
	if jobs, _ := s.Pending(2); len(jobs) != 2 || jobs[0].Text != "a" || jobs[1].Text != "b" {
		t.Errorf("Pending(2): got %v, want jobs a, b", jobs)
	}
	// The same key twice in one call: the second job is a duplicate.
	q, _ := store.Enqueue(s, []store.Job{job(store.KindFiring, "d", "k4"), job(store.KindFiring, "e", "k4")}, t0)
	if len(q) != 1 || q[0].Text != "d" {
		t.Errorf("same key twice in one call: got %v, want only job d", q)
	}
	// A job without keys is always queued.
	q, _ = store.Enqueue(s, []store.Job{job(store.KindEdit, "f"), job(store.KindEdit, "f")}, t0)
	if len(q) != 2 {
		t.Errorf("jobs without keys: got %d queued, want 2", len(q))
	}
}

func testCompleteKeepsFirstMessage(t *testing.T, open Open) {
	s := open(t)
	q, _ := store.Enqueue(s, []store.Job{job(store.KindFiring, "a", "k1")}, t0)
	ref := q[0].Alerts[0]
	if err := s.Complete(q[0], []store.Sent{{ChatID: "-100", MessageID: 42, Text: "a"}}, t0); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if st, _, _ := s.FiringMessage(ref); !slices.Equal(st.MessageAlerts, q[0].Alerts) {
		t.Errorf("message alerts: got %v, want %v", st.MessageAlerts, q[0].Alerts)
	}
	// A second firing message for the same alert does not replace the first.
	fq, _ := store.Enqueue(s, []store.Job{job(store.KindFiring, "a", "k2")}, t0)
	if err := s.Complete(fq[0], []store.Sent{{ChatID: "-100", MessageID: 43, Text: "x"}}, t0); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := s.FiringMessage(ref); st.MessageID != 42 {
		t.Errorf("after a second firing send: got message %d, want 42", st.MessageID)
	}
	if st, _ := s.Stats(); st.Depth != 0 {
		t.Errorf("depth after completing all: got %d, want 0", st.Depth)
	}
}

func testAlertStates(t *testing.T, open Open) {
	s := open(t)
	ref := store.AlertRef{Route: "ops", Fingerprint: "f1", StartsAt: t0}
	other := store.AlertRef{Route: "ops", Fingerprint: "f2", StartsAt: t0}
	// Raw alert JSON keeps its key order.
	want := store.AlertState{Firing: true, Reminder: 2, ChatID: "-1", Text: "<b>x</b>",
		Alert: json.RawMessage(`{"status":"firing","labels":{"z":"1","a":"2"}}`), Updated: t0}
	if err := s.Update(func(tx store.Tx) error { return tx.PutAlertState(ref, want) }); err != nil {
		t.Fatalf("PutAlertState: %v", err)
	}
	got, err := s.AlertStates([]store.AlertRef{other, ref})
	if err != nil || len(got) != 2 {
		t.Fatalf("AlertStates: got %v, %v", got, err)
	}
	if got[0].Firing || got[0].Alert != nil {
		t.Errorf("unknown alert: got %+v, want zero", got[0])
	}
	if string(got[1].Alert) != string(want.Alert) || got[1].Reminder != 2 || got[1].Text != want.Text || !got[1].Updated.Equal(t0) {
		t.Errorf("stored alert: got %+v, want %+v", got[1], want)
	}
	s.Update(func(tx store.Tx) error {
		if _, err := tx.Enqueue([]store.Job{job(store.KindFiring, "r", "rk")}, t0); err != nil {
			return err
		}
		if seen, err := tx.Seen("rk"); !seen || err != nil {
			t.Errorf("key inside its own transaction: got seen=%v, %v, want seen", seen, err)
		}
		return nil
	})
}

func testPruneKeeps(t *testing.T, open Open) {
	s := open(t)
	old := t0.Add(-8 * 24 * time.Hour)
	if _, err := store.Enqueue(s, []store.Job{job(store.KindFiring, "a", "old")}, old); err != nil {
		t.Fatal(err)
	}
	fresh := store.AlertRef{Fingerprint: "y", StartsAt: old}
	s.Update(func(tx store.Tx) error { return tx.PutAlertState(fresh, store.AlertState{Firing: true, Updated: t0}) })
	if _, err := s.Prune(t0.Add(-7 * 24 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	s.Update(func(tx store.Tx) error {
		if _, ok, _ := tx.AlertState(fresh); !ok {
			t.Errorf("alert state updated after the cutoff was pruned")
		}
		return nil
	})
	// Queued jobs are never pruned, even with their keys gone.
	if got := pendingTexts(t, s); !slices.Equal(got, []string{"a"}) {
		t.Errorf("pending after prune: got %v, want [a]", got)
	}
}
