package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/internal/pgtest"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/bolt"
	"github.com/downtime-detector/downtime/receiver/store/postgres"
	"github.com/downtime-detector/downtime/receiver/store/storetest"
)

// This file is one behaviour suite run against both stores: the bbolt one
// (receiver/store) and the PostgreSQL one. When the store becomes an
// interface, backend is that interface and the suite moves next to it.

func TestMain(m *testing.M) { pgtest.Main(m) }

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// txOps is what a planning transaction offers (store.Tx and postgres.Tx).
type txOps interface {
	AlertState(store.AlertRef) (store.AlertState, bool, error)
	PutAlertState(store.AlertRef, store.AlertState) error
	Seen(string) bool
	Enqueue([]store.Job, time.Time) ([]store.Job, error)
}

// backend is the store's operations, as *store.Store has them.
type backend interface {
	Enqueue([]store.Job, time.Time) ([]store.Job, error)
	Pending(limit int) ([]store.Job, error)
	Complete(store.Job, []store.Sent, time.Time) error
	FiringMessage(store.AlertRef) (store.AlertState, bool, error)
	AlertStates([]store.AlertRef) ([]store.AlertState, error)
	DeadLetter(job store.Job, reason string, cause error, now time.Time) error
	DeadLetters() ([]store.DeadLetter, error)
	Stats() (store.Stats, error)
	SetMigration(from, to string) error
	ChatFor(string) (string, error)
	Prune(cutoff time.Time) (int, error)
	Close() error
	update(func(txOps) error) error
}

// boltBackend adapts the bbolt store to the suite (its Tx.Seen also
// returns an error; the suite's checks read a bool).
type boltBackend struct{ *bolt.Store }

type boltTx struct{ store.Tx }

func (t boltTx) Seen(key string) bool { ok, _ := t.Tx.Seen(key); return ok }

func (b boltBackend) Enqueue(jobs []store.Job, now time.Time) ([]store.Job, error) {
	return store.Enqueue(b.Store, jobs, now)
}

func (b boltBackend) update(fn func(txOps) error) error {
	return b.Update(func(tx store.Tx) error { return fn(boltTx{tx}) })
}

type pgBackend struct{ *postgres.Store }

func (b pgBackend) update(fn func(txOps) error) error {
	return b.Update(func(tx *postgres.Tx) error { return fn(tx) })
}

// backends make fresh storage and return a function that opens it (again).
var backends = []struct {
	name string
	make func(t *testing.T) func() (backend, error)
}{
	{"bbolt", func(t *testing.T) func() (backend, error) {
		dir := t.TempDir()
		return func() (backend, error) {
			s, err := bolt.OpenWith(dir, bolt.Options{NoSync: true})
			if err != nil {
				return nil, err
			}
			return boltBackend{s}, nil
		}
	}},
	{"postgres", func(t *testing.T) func() (backend, error) {
		dsn := pgtest.DB(t)
		return func() (backend, error) {
			s, err := postgres.Open(context.Background(), dsn, postgres.Options{})
			if err != nil {
				return nil, err
			}
			return pgBackend{s}, nil
		}
	}},
}

// forEachBackend runs check as a subtest per backend with an open store
// (closed at cleanup) and the function that reopens it.
func forEachBackend(t *testing.T, check func(t *testing.T, s backend, reopen func() backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			open := b.make(t)
			reopen := func() backend {
				t.Helper()
				s, err := open()
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			check(t, reopen(), reopen)
		})
	}
}

func job(kind store.Kind, text string, keys ...string) store.Job {
	return store.Job{Kind: kind, ChatID: "-100", Text: text, Keys: keys,
		Alerts: []store.AlertRef{{Fingerprint: "fp" + text, StartsAt: t0}}}
}

func pendingTexts(t *testing.T, s backend) []string {
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

func TestEnqueueOrderAndDuplicates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s backend, _ func() backend) {
		q, err := s.Enqueue([]store.Job{job(store.KindFiring, "a", "k1"), job(store.KindFiring, "b", "k2")}, t0)
		if err != nil || len(q) != 2 || q[0].ID >= q[1].ID {
			t.Fatalf("first enqueue: got %v, %v, want 2 jobs in order", q, err)
		}
		// Same keys again (an Alertmanager retry): nothing new. A job with one new key is queued.
		q, err = s.Enqueue([]store.Job{job(store.KindFiring, "a", "k1"), job(store.KindFiring, "c", "k2", "k3")}, t0)
		if err != nil || len(q) != 1 || q[0].Text != "c" {
			t.Fatalf("second enqueue: got %v, %v, want only job c", q, err)
		}
		if got, want := pendingTexts(t, s), []string{"a", "b", "c"}; !slices.Equal(got, want) {
			t.Errorf("pending: got %v, want %v", got, want)
		}
		if jobs, _ := s.Pending(2); len(jobs) != 2 || jobs[0].Text != "a" {
			t.Errorf("Pending(2): got %v, want jobs a, b", jobs)
		}
		st, err := s.Stats()
		if err != nil || st.Depth != 3 || !st.Oldest.Equal(t0) {
			t.Errorf("stats: got %+v, %v, want depth 3, oldest %v", st, err, t0)
		}
		// The same key twice in one call: the second job is a duplicate.
		q, _ = s.Enqueue([]store.Job{job(store.KindFiring, "d", "k4"), job(store.KindFiring, "e", "k4")}, t0)
		if len(q) != 1 || q[0].Text != "d" {
			t.Errorf("same key twice in one call: got %v, want only job d", q)
		}
		// A job without keys is always queued.
		q, _ = s.Enqueue([]store.Job{job(store.KindEdit, "f"), job(store.KindEdit, "f")}, t0)
		if len(q) != 2 {
			t.Errorf("jobs without keys: got %d queued, want 2", len(q))
		}
	})
}

func TestEmptyStore(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s backend, _ func() backend) {
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
	})
}

func TestCompleteRecordsFiringMessage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s backend, _ func() backend) {
		q, _ := s.Enqueue([]store.Job{job(store.KindFiring, "a", "k1")}, t0)
		ref := q[0].Alerts[0]
		if _, ok, _ := s.FiringMessage(ref); ok {
			t.Fatalf("firing message known before sending")
		}
		if err := s.Complete(q[0], []store.Sent{{ChatID: "-100", MessageID: 42, Text: "a"}}, t0); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		st, ok, err := s.FiringMessage(ref)
		if err != nil || !ok || st.MessageID != 42 || st.Text != "a" || !slices.Equal(st.MessageAlerts, q[0].Alerts) {
			t.Errorf("firing message: got %+v %v %v, want id 42 text a", st, ok, err)
		}
		if err := s.Complete(q[0], nil, t0); !errors.Is(err, store.ErrNotQueued) {
			t.Errorf("second Complete: got %v, want ErrNotQueued", err)
		}
		edit := store.Job{Kind: store.KindEdit, Alerts: []store.AlertRef{ref}}
		eq, _ := s.Enqueue([]store.Job{edit}, t0)
		if err := s.Complete(eq[0], []store.Sent{{ChatID: "-100", MessageID: 42, Text: "a resolved"}}, t0); err != nil {
			t.Fatalf("Complete edit: %v", err)
		}
		if st, _, _ := s.FiringMessage(ref); st.Text != "a resolved" || st.MessageID != 42 {
			t.Errorf("after edit: got %+v, want text %q id 42", st, "a resolved")
		}
		// A second firing message for the same alert does not replace the first.
		fq, _ := s.Enqueue([]store.Job{job(store.KindFiring, "a", "k2")}, t0)
		if err := s.Complete(fq[0], []store.Sent{{ChatID: "-100", MessageID: 43, Text: "x"}}, t0); err != nil {
			t.Fatal(err)
		}
		if st, _, _ := s.FiringMessage(ref); st.MessageID != 42 {
			t.Errorf("after a second firing send: got message %d, want 42", st.MessageID)
		}
		if st, _ := s.Stats(); st.Depth != 0 {
			t.Errorf("depth after completing all: got %d, want 0", st.Depth)
		}
	})
}

func TestAlertStatesAndUpdate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s backend, _ func() backend) {
		ref := store.AlertRef{Route: "ops", Fingerprint: "f1", StartsAt: t0}
		other := store.AlertRef{Route: "ops", Fingerprint: "f2", StartsAt: t0}
		// Raw alert JSON keeps its key order (json.Marshal compacts it).
		want := store.AlertState{Firing: true, Reminder: 2, ChatID: "-1", Text: "<b>x</b>",
			Alert: json.RawMessage(`{"status":"firing","labels":{"z":"1","a":"2"}}`), Updated: t0}
		if err := s.update(func(tx txOps) error { return tx.PutAlertState(ref, want) }); err != nil {
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
		// An error from the function rolls everything back.
		boom := errors.New("boom")
		err = s.update(func(tx txOps) error {
			if _, err := tx.Enqueue([]store.Job{job(store.KindFiring, "r", "rk")}, t0); err != nil {
				return err
			}
			if err := tx.PutAlertState(other, want); err != nil {
				return err
			}
			if !tx.Seen("rk") {
				t.Errorf("key not seen inside its own transaction")
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Errorf("update: got %v, want %v", err, boom)
		}
		if p := pendingTexts(t, s); len(p) != 0 {
			t.Errorf("pending after rollback: got %v, want none", p)
		}
		s.update(func(tx txOps) error {
			if tx.Seen("rk") {
				t.Errorf("key seen after rollback")
			}
			if _, ok, _ := tx.AlertState(other); ok {
				t.Errorf("alert state kept after rollback")
			}
			return nil
		})
	})
}

func TestReopenKeepsEverything(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s backend, reopen func() backend) {
		q, _ := s.Enqueue([]store.Job{job(store.KindFiring, "a", "k1"), job(store.KindResolved, "b", "k2")}, t0)
		if err := s.DeadLetter(q[1], "forbidden", errors.New("403"), t0); err != nil {
			t.Fatal(err)
		}
		if err := s.DeadLetter(q[1], "forbidden", nil, t0); !errors.Is(err, store.ErrNotQueued) {
			t.Errorf("second DeadLetter: got %v, want ErrNotQueued", err)
		}
		if err := s.SetMigration("-1", "-1001"); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = reopen()
		if got, want := pendingTexts(t, s), []string{"a"}; !slices.Equal(got, want) {
			t.Errorf("pending after reopen: got %v, want %v", got, want)
		}
		if q, _ := s.Enqueue([]store.Job{job(store.KindFiring, "a", "k1")}, t0); len(q) != 0 {
			t.Errorf("key k1 forgotten after reopen: got %d jobs queued, want 0", len(q))
		}
		dl, err := s.DeadLetters()
		if err != nil || len(dl) != 1 || dl[0].Reason != "forbidden" || dl[0].Error != "403" || dl[0].Job.Text != "b" {
			t.Errorf("dead letters: got %+v %v, want one forbidden", dl, err)
		}
		if st, _ := s.Stats(); st.DeadLetters != 1 || st.Depth != 1 {
			t.Errorf("stats: got %+v, want depth 1, 1 dead letter", st)
		}
		if c, _ := s.ChatFor("-1"); c != "-1001" {
			t.Errorf("ChatFor(-1): got %q, want -1001", c)
		}
		// Next job id continues after the old ones.
		q2, _ := s.Enqueue([]store.Job{job(store.KindFiring, "c", "k9")}, t0)
		if q2[0].ID <= q[1].ID {
			t.Errorf("job id after reopen: got %d, want > %d", q2[0].ID, q[1].ID)
		}
	})
}

func TestChatMigrations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s backend, _ func() backend) {
		for _, m := range [][2]string{{"-1", "-2"}, {"-2", "-3"}, {"-7", "-8"}, {"-8", "-7"}} {
			if err := s.SetMigration(m[0], m[1]); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct{ from, want string }{
			{"-1", "-3"}, // two hops
			{"-3", "-3"},
			{"-7", "-7"}, // a loop is cut after 8 hops (even: back at the start)
		} {
			if got, err := s.ChatFor(tc.from); err != nil || got != tc.want {
				t.Errorf("ChatFor(%s): got %q, %v, want %q", tc.from, got, err, tc.want)
			}
		}
	})
}

func TestPrune(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s backend, _ func() backend) {
		old := t0.Add(-8 * 24 * time.Hour)
		if _, err := s.Enqueue([]store.Job{job(store.KindFiring, "a", "old")}, old); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Enqueue([]store.Job{job(store.KindFiring, "b", "new")}, t0); err != nil {
			t.Fatal(err)
		}
		ref := store.AlertRef{Fingerprint: "x", StartsAt: old}
		fresh := store.AlertRef{Fingerprint: "y", StartsAt: old}
		s.update(func(tx txOps) error {
			tx.PutAlertState(ref, store.AlertState{Firing: true, Updated: old})
			return tx.PutAlertState(fresh, store.AlertState{Firing: true, Updated: t0})
		})
		n, err := s.Prune(t0.Add(-7 * 24 * time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("Prune: got %d, %v, want 2 removed", n, err)
		}
		s.update(func(tx txOps) error {
			if tx.Seen("old") || !tx.Seen("new") {
				t.Errorf("seen after prune: old=%v new=%v, want false true", tx.Seen("old"), tx.Seen("new"))
			}
			if _, ok, _ := tx.AlertState(ref); ok {
				t.Errorf("old alert state survived prune")
			}
			if _, ok, _ := tx.AlertState(fresh); !ok {
				t.Errorf("fresh alert state pruned")
			}
			return nil
		})
		// Queued jobs are never pruned.
		if got := pendingTexts(t, s); len(got) != 2 {
			t.Errorf("pending after prune: got %v, want a and b", got)
		}
	})
}

func TestChatStore(t *testing.T) {
	storetest.RunChat(t, func(t *testing.T) store.Chat {
		s, err := postgres.Open(context.Background(), pgtest.DB(t), postgres.Options{})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestFiringAlerts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s backend, _ func() backend) {
		refs := []store.AlertRef{{Route: "ops", Fingerprint: "a1", StartsAt: t0}, {Route: "", Fingerprint: "b2", StartsAt: t0.Add(time.Minute)},
			{Route: "ops", Fingerprint: "c3", StartsAt: t0}, {Route: "ops", Fingerprint: "d4", StartsAt: t0}}
		states := []store.AlertState{{Firing: true, MessageID: 5}, {Firing: true}, {Firing: true, Resolved: true}, {Resolved: true}}
		err := s.update(func(tx txOps) error {
			for i := range refs {
				if err := tx.PutAlertState(refs[i], states[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		held, err := s.(interface{ FiringAlerts() ([]store.Held, error) }).FiringAlerts()
		if err != nil {
			t.Fatalf("FiringAlerts: %v", err)
		}
		got := map[string]int{}
		for _, h := range held {
			got[h.Ref.Key()] = h.State.MessageID
		}
		if len(held) != 2 || got[refs[0].Key()] != 5 {
			t.Errorf("FiringAlerts: got %v, want %s (message 5) and %s", got, refs[0].Key(), refs[1].Key())
		}
		if _, ok := got[refs[1].Key()]; !ok {
			t.Errorf("FiringAlerts: got %v, want the default route's %s too", got, refs[1].Key())
		}
	})
}
