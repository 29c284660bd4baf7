package store

import (
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func job(kind Kind, text string, keys ...string) Job {
	return Job{Kind: kind, ChatID: "-100", Text: text, Keys: keys,
		Alerts: []AlertRef{{Fingerprint: "fp" + text, StartsAt: t0}}}
}

func pendingTexts(t *testing.T, s *Store) []string {
	t.Helper()
	jobs, err := s.Pending(0)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	var out []string
	for _, j := range jobs {
		out = append(out, j.Text)
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEnqueueOrderAndDuplicates(t *testing.T) {
	s := openTest(t, t.TempDir())
	q, err := s.Enqueue([]Job{job(KindFiring, "a", "k1"), job(KindFiring, "b", "k2")}, t0)
	if err != nil || len(q) != 2 || q[0].ID >= q[1].ID {
		t.Fatalf("first enqueue: got %v, %v, want 2 jobs in order", q, err)
	}
	// Same keys again (an Alertmanager retry): nothing new. A job with one new key is queued.
	q, err = s.Enqueue([]Job{job(KindFiring, "a", "k1"), job(KindFiring, "c", "k2", "k3")}, t0)
	if err != nil || len(q) != 1 || q[0].Text != "c" {
		t.Fatalf("second enqueue: got %v, %v, want only job c", q, err)
	}
	if got, want := pendingTexts(t, s), []string{"a", "b", "c"}; !equal(got, want) {
		t.Errorf("pending: got %v, want %v", got, want)
	}
	st, err := s.Stats()
	if err != nil || st.Depth != 3 || !st.Oldest.Equal(t0) {
		t.Errorf("stats: got %+v, %v, want depth 3, oldest %v", st, err, t0)
	}
}

func TestCompleteRecordsFiringMessage(t *testing.T) {
	s := openTest(t, t.TempDir())
	q, _ := s.Enqueue([]Job{job(KindFiring, "a", "k1")}, t0)
	ref := q[0].Alerts[0]
	if _, ok, _ := s.FiringMessage(ref); ok {
		t.Fatalf("firing message known before sending")
	}
	if err := s.Complete(q[0], []Sent{{ChatID: "-100", MessageID: 42, Text: "a"}}, t0); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	st, ok, err := s.FiringMessage(ref)
	if err != nil || !ok || st.MessageID != 42 || st.Text != "a" {
		t.Errorf("firing message: got %+v %v %v, want id 42 text a", st, ok, err)
	}
	if err := s.Complete(q[0], nil, t0); !errors.Is(err, ErrNotQueued) {
		t.Errorf("second Complete: got %v, want ErrNotQueued", err)
	}
	edit := Job{ID: 0, Kind: KindEdit, Alerts: []AlertRef{ref}}
	eq, _ := s.Enqueue([]Job{edit}, t0)
	if err := s.Complete(eq[0], []Sent{{ChatID: "-100", MessageID: 42, Text: "a resolved"}}, t0); err != nil {
		t.Fatalf("Complete edit: %v", err)
	}
	if st, _, _ := s.FiringMessage(ref); st.Text != "a resolved" || st.MessageID != 42 {
		t.Errorf("after edit: got %+v, want text %q id 42", st, "a resolved")
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := s.Enqueue([]Job{job(KindFiring, "a", "k1"), job(KindResolved, "b", "k2")}, t0)
	if err := s.DeadLetter(q[1], "forbidden", errors.New("403"), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMigration("-1", "-1001"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir)
	if got, want := pendingTexts(t, s), []string{"a"}; !equal(got, want) {
		t.Errorf("pending after reopen: got %v, want %v", got, want)
	}
	if q, _ := s.Enqueue([]Job{job(KindFiring, "a", "k1")}, t0); len(q) != 0 {
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
	q2, _ := s.Enqueue([]Job{job(KindFiring, "c", "k9")}, t0)
	if q2[0].ID <= q[1].ID {
		t.Errorf("job id after reopen: got %d, want > %d", q2[0].ID, q[1].ID)
	}
}

func TestPrune(t *testing.T) {
	s := openTest(t, t.TempDir())
	old := t0.Add(-8 * 24 * time.Hour)
	if _, err := s.Enqueue([]Job{job(KindFiring, "a", "old")}, old); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue([]Job{job(KindFiring, "b", "new")}, t0); err != nil {
		t.Fatal(err)
	}
	ref := AlertRef{Fingerprint: "x", StartsAt: old}
	s.Update(func(tx *Tx) error { return tx.PutAlertState(ref, AlertState{Firing: true, Updated: old}) })
	n, err := s.Prune(t0.Add(-7 * 24 * time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("Prune: got %d, %v, want 2 removed", n, err)
	}
	s.Update(func(tx *Tx) error {
		if tx.Seen("old") || !tx.Seen("new") {
			t.Errorf("seen after prune: old=%v new=%v, want false true", tx.Seen("old"), tx.Seen("new"))
		}
		if _, ok, _ := tx.AlertState(ref); ok {
			t.Errorf("old alert state survived prune")
		}
		return nil
	})
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir)
	if s, err := Open(dir); err == nil {
		s.Close()
		t.Fatalf("second Open of a locked store succeeded, want error")
	}
}
