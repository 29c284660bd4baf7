package bolt

import (
	"errors"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/storetest"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openDir(t, t.TempDir()) })
}

func openDir(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func storetestJob(kind store.Kind, text string, keys ...string) store.Job {
	return store.Job{Kind: kind, ChatID: "-100", Text: text, Keys: keys,
		Alerts: []store.AlertRef{{Fingerprint: "fp" + text, StartsAt: t0}}}
}

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := store.Enqueue(s, []store.Job{storetestJob(store.KindFiring, "a", "k1"), storetestJob(store.KindResolved, "b", "k2")}, t0)
	if err := s.DeadLetter(q[1], "forbidden", errors.New("403"), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMigration("-1", "-1001"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openDir(t, dir)
	if p, err := s.Pending(0); err != nil || len(p) != 1 || p[0].Text != "a" {
		t.Errorf("pending after reopen: got %+v, %v, want job a", p, err)
	}
	if q, _ := store.Enqueue(s, []store.Job{storetestJob(store.KindFiring, "a", "k1")}, t0); len(q) != 0 {
		t.Errorf("key k1 forgotten after reopen: got %d jobs queued, want 0", len(q))
	}
	dl, err := s.DeadLetters()
	if err != nil || len(dl) != 1 || dl[0].Reason != "forbidden" {
		t.Errorf("dead letters: got %+v %v, want one forbidden", dl, err)
	}
	if c, _ := s.ChatFor("-1"); c != "-1001" {
		t.Errorf("ChatFor(-1): got %q, want -1001", c)
	}
	// Next job id continues after the old ones.
	q2, _ := store.Enqueue(s, []store.Job{storetestJob(store.KindFiring, "c", "k9")}, t0)
	if q2[0].ID <= q[1].ID {
		t.Errorf("job id after reopen: got %d, want > %d", q2[0].ID, q[1].ID)
	}
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	openDir(t, dir)
	s, err := Open(dir)
	if err == nil {
		s.Close()
		t.Fatalf("second Open of a locked store succeeded, want error")
	}
	if !errors.Is(err, store.ErrLocked) {
		t.Errorf("second Open: got %v, want store.ErrLocked", err)
	}
}
