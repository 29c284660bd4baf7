package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/downtime-detector/downtime/receiver/store"
)

// Reopen checks that closing a store and opening the same storage again
// keeps the queue, the idempotency keys, the dead letters, the chat
// migrations and the watched parents, and that job ids go on after the
// old ones. open opens the storage (the same each call) and registers
// nothing for cleanup of the first store: Reopen closes it.
func Reopen(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	q, err := store.Enqueue(s, []store.Job{job(store.KindFiring, "a", "k1"), job(store.KindResolved, "b", "k2")}, t0)
	if err != nil || len(q) != 2 {
		t.Fatalf("Enqueue: got %d jobs, %v", len(q), err)
	}
	if err := s.DeadLetter(q[1], "forbidden", errors.New("403"), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMigration("-1", "-1001"); err != nil {
		t.Fatal(err)
	}
	router := store.Parent{Ref: store.AlertRef{Fingerprint: "fp-router1", StartsAt: t0}, Target: "router1",
		Shown: []string{"db1"}, Updated: t0}
	if err := s.Update(func(tx store.Tx) error { return tx.WatchParent(router) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t)
	t.Cleanup(func() { s.Close() })
	if got, want := pendingTexts(t, s), []string{"a"}; !slices.Equal(got, want) {
		t.Errorf("pending after reopen: got %v, want %v", got, want)
	}
	if q, _ := store.Enqueue(s, []store.Job{job(store.KindFiring, "a", "k1")}, t0); len(q) != 0 {
		t.Errorf("key k1 forgotten after reopen: got %d jobs queued, want 0", len(q))
	}
	dl, err := s.DeadLetters()
	if err != nil || len(dl) != 1 || dl[0].Reason != "forbidden" || dl[0].Error != "403" || dl[0].Job.Text != "b" {
		t.Errorf("dead letters: got %+v %v, want one forbidden", dl, err)
	}
	if c, _ := s.ChatFor("-1"); c != "-1001" {
		t.Errorf("ChatFor(-1): got %q, want -1001", c)
	}
	checkParents(t, s, router)
	q2, _ := store.Enqueue(s, []store.Job{job(store.KindFiring, "c", "k9")}, t0)
	if len(q2) != 1 || q2[0].ID <= q[1].ID {
		t.Errorf("job id after reopen: got %v, want one job with id > %d", q2, q[1].ID)
	}
}
