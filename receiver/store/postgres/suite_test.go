package postgres_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/internal/pgtest"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/postgres"
	"github.com/downtime-detector/downtime/receiver/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// TestStore runs the behaviour suite every store passes (the bbolt one
// runs it in receiver/store/bolt), each check on a fresh database.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openPG(t, pgtest.DB(t)) })
}

func job(kind store.Kind, text string, keys ...string) store.Job {
	return store.Job{Kind: kind, ChatID: "-100", Text: text, Keys: keys,
		Alerts: []store.AlertRef{{Fingerprint: "fp" + text, StartsAt: t0}}}
}

func pendingTexts(t *testing.T, s store.Store) []string {
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

// Closing and opening the database again keeps everything, and job ids go
// on after the old ones.
func TestReopenKeepsEverything(t *testing.T) {
	dsn := pgtest.DB(t)
	s, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := store.Enqueue(s, []store.Job{job(store.KindFiring, "a", "k1"), job(store.KindResolved, "b", "k2")}, t0)
	if err := s.DeadLetter(q[1], "forbidden", errors.New("403"), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMigration("-1", "-1001"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openPG(t, dsn)
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
	q2, _ := store.Enqueue(s, []store.Job{job(store.KindFiring, "c", "k9")}, t0)
	if len(q2) != 1 || q2[0].ID <= q[1].ID {
		t.Errorf("job id after reopen: got %v, want one job with id > %d", q2, q[1].ID)
	}
}
