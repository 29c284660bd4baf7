// Package storetest is the behaviour of store.Store, specified once and run
// against every implementation: call Run from the implementation's tests.
package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/store"
)

// Open returns an empty store for one test; the implementation closes it
// in t.Cleanup.
type Open func(t *testing.T) store.Store

// Run runs the whole behaviour suite against the stores open returns.
func Run(t *testing.T, open Open) {
	for _, tc := range []struct {
		name string
		test func(*testing.T, Open)
	}{
		{"EnqueueOrderAndDuplicates", testEnqueueOrderAndDuplicates},
		{"UpdateRollsBack", testUpdateRollsBack},
		{"CompleteRecordsFiringMessage", testCompleteRecordsFiringMessage},
		{"DeadLetter", testDeadLetter},
		{"RetryDeadLetters", testRetryDeadLetters},
		{"PurgeDeadLetters", testPurgeDeadLetters},
		{"Migrations", testMigrations},
		{"ConcurrentEnqueue", testConcurrentEnqueue},
		{"Prune", testPrune},
		{"IncidentsInUpdate", testIncidentsInUpdate},
		{"IncidentMessages", testIncidentMessages},
		{"Heads", testHeads},
		{"EmptyStore", testEmptyStore},
		{"EnqueueEdges", testEnqueueEdges},
		{"CompleteKeepsFirstMessage", testCompleteKeepsFirstMessage},
		{"AlertStates", testAlertStates},
		{"PruneKeeps", testPruneKeeps},
		{"Heartbeats", testHeartbeats},
		{"PruneKeepsOpenHeartbeatWarning", testPruneKeepsOpenWarning},
		{"Parents", testParents},
		{"Chat", testChat},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, open) })
	}
}

// t0 is the suite's fixed clock.
var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

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

func testEnqueueOrderAndDuplicates(t *testing.T, open Open) {
	s := open(t)
	q, err := store.Enqueue(s, []store.Job{job(store.KindFiring, "a", "k1"), job(store.KindFiring, "b", "k2")}, t0)
	if err != nil || len(q) != 2 || q[0].ID >= q[1].ID {
		t.Fatalf("first enqueue: got %v, %v, want 2 jobs in order", q, err)
	}
	// Same keys again (an Alertmanager retry): nothing new. A job with one new key is queued.
	q, err = store.Enqueue(s, []store.Job{job(store.KindFiring, "a", "k1"), job(store.KindFiring, "c", "k2", "k3")}, t0)
	if err != nil || len(q) != 1 || q[0].Text != "c" {
		t.Fatalf("second enqueue: got %v, %v, want only job c", q, err)
	}
	if got, want := pendingTexts(t, s), []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("pending: got %v, want %v", got, want)
	}
	st, err := s.Stats()
	if err != nil || st.Depth != 3 || !st.Oldest.Equal(t0) {
		t.Errorf("stats: got %+v, %v, want depth 3, oldest %v", st, err, t0)
	}
}

func testCompleteRecordsFiringMessage(t *testing.T, open Open) {
	s := open(t)
	q, _ := store.Enqueue(s, []store.Job{job(store.KindFiring, "a", "k1")}, t0)
	ref := q[0].Alerts[0]
	if _, ok, _ := s.FiringMessage(ref); ok {
		t.Fatalf("firing message known before sending")
	}
	if err := s.Complete(q[0], []store.Sent{{ChatID: "-100", MessageID: 42, Text: "a"}}, t0); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	st, ok, err := s.FiringMessage(ref)
	if err != nil || !ok || st.MessageID != 42 || st.Text != "a" {
		t.Errorf("firing message: got %+v %v %v, want id 42 text a", st, ok, err)
	}
	if err := s.Complete(q[0], nil, t0); !errors.Is(err, store.ErrNotQueued) {
		t.Errorf("second Complete: got %v, want store.ErrNotQueued", err)
	}
	edit := store.Job{ID: 0, Kind: store.KindEdit, Alerts: []store.AlertRef{ref}}
	eq, _ := store.Enqueue(s, []store.Job{edit}, t0)
	if err := s.Complete(eq[0], []store.Sent{{ChatID: "-100", MessageID: 42, Text: "a resolved"}}, t0); err != nil {
		t.Fatalf("Complete edit: %v", err)
	}
	if st, _, _ := s.FiringMessage(ref); st.Text != "a resolved" || st.MessageID != 42 {
		t.Errorf("after edit: got %+v, want text %q id 42", st, "a resolved")
	}
}

func testPrune(t *testing.T, open Open) {
	s := open(t)
	old := t0.Add(-8 * 24 * time.Hour)
	if _, err := store.Enqueue(s, []store.Job{job(store.KindFiring, "a", "old")}, old); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Enqueue(s, []store.Job{job(store.KindFiring, "b", "new")}, t0); err != nil {
		t.Fatal(err)
	}
	ref := store.AlertRef{Fingerprint: "x", StartsAt: old}
	s.Update(func(tx store.Tx) error { return tx.PutAlertState(ref, store.AlertState{Firing: true, Updated: old}) })
	n, err := s.Prune(t0.Add(-7 * 24 * time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("Prune: got %d, %v, want 2 removed", n, err)
	}
	s.Update(func(tx store.Tx) error {
		o, err1 := tx.Seen("old")
		n, err2 := tx.Seen("new")
		if o || !n || err1 != nil || err2 != nil {
			t.Errorf("seen after prune: old=%v new=%v (%v, %v), want false true", o, n, err1, err2)
		}
		if _, ok, _ := tx.AlertState(ref); ok {
			t.Errorf("old alert state survived prune")
		}
		return nil
	})
}

func testUpdateRollsBack(t *testing.T, open Open) {
	s := open(t)
	ref := store.AlertRef{Fingerprint: "x", StartsAt: t0}
	boom := errors.New("boom")
	err := s.Update(func(tx store.Tx) error {
		if err := tx.PutAlertState(ref, store.AlertState{Firing: true, Updated: t0}); err != nil {
			return err
		}
		if _, err := tx.Enqueue([]store.Job{job(store.KindFiring, "a", "k1")}, t0); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update: got %v, want %v", err, boom)
	}
	if got := pendingTexts(t, s); len(got) != 0 {
		t.Errorf("pending after rollback: got %v, want none", got)
	}
	s.Update(func(tx store.Tx) error {
		if seen, err := tx.Seen("k1"); seen || err != nil {
			t.Errorf("key k1 after rollback: got seen=%v err=%v, want unseen", seen, err)
		}
		if _, ok, err := tx.AlertState(ref); ok || err != nil {
			t.Errorf("alert state after rollback: got ok=%v err=%v, want absent", ok, err)
		}
		return nil
	})
}

// deadLetters queues jobs a, b, c and dead-letters a and c.
func deadLetters(t *testing.T, s store.Store) []store.Job {
	t.Helper()
	q, err := store.Enqueue(s, []store.Job{job(store.KindFiring, "a", "ka"),
		job(store.KindFiring, "b", "kb"), job(store.KindFiring, "c", "kc")}, t0)
	if err != nil || len(q) != 3 {
		t.Fatalf("Enqueue: got %v, %v, want 3 jobs", q, err)
	}
	for _, j := range []store.Job{q[0], q[2]} {
		if err := s.DeadLetter(j, "forbidden", errors.New("403 "+j.Text), t0); err != nil {
			t.Fatalf("DeadLetter: %v", err)
		}
	}
	return q
}

func deadTexts(t *testing.T, s store.Store) []string {
	t.Helper()
	dl, err := s.DeadLetters()
	if err != nil {
		t.Fatalf("DeadLetters: %v", err)
	}
	var out []string
	for _, d := range dl {
		out = append(out, d.Job.Text)
	}
	return out
}

func testDeadLetter(t *testing.T, open Open) {
	s := open(t)
	q := deadLetters(t, s)
	dl, err := s.DeadLetters()
	if err != nil || len(dl) != 2 || dl[0].Job.ID != q[0].ID || dl[0].Reason != "forbidden" ||
		dl[0].Error != "403 a" || !dl[0].At.Equal(t0) {
		t.Fatalf("dead letters: got %+v, %v, want a then c, forbidden at t0", dl, err)
	}
	if got, want := pendingTexts(t, s), []string{"b"}; !slices.Equal(got, want) {
		t.Errorf("pending: got %v, want %v", got, want)
	}
	if err := s.DeadLetter(q[0], "again", nil, t0); !errors.Is(err, store.ErrNotQueued) {
		t.Errorf("second DeadLetter: got %v, want ErrNotQueued", err)
	}
	if st, err := s.Stats(); err != nil || st.DeadLetters != 2 || st.Depth != 1 {
		t.Errorf("stats: got %+v, %v, want 1 queued, 2 dead", st, err)
	}
}

func testRetryDeadLetters(t *testing.T, open Open) {
	s := open(t)
	q := deadLetters(t, s)
	if _, err := s.RetryDeadLetters([]uint64{q[2].ID, 999}, t0); !errors.Is(err, store.ErrNoDeadLetter) {
		t.Fatalf("retry of an unknown id: got %v, want ErrNoDeadLetter", err)
	}
	if got, want := deadTexts(t, s), []string{"a", "c"}; !slices.Equal(got, want) {
		t.Fatalf("a failed retry changed the dead letters: got %v, want %v", got, want)
	}
	later := t0.Add(time.Hour)
	r, err := s.RetryDeadLetters([]uint64{q[2].ID, q[2].ID}, later)
	if err != nil || len(r) != 1 || r[0].Text != "c" || r[0].ID <= q[2].ID || !r[0].Enqueued.Equal(later) {
		t.Fatalf("retry c: got %+v, %v, want c queued again with a new id at %v", r, err, later)
	}
	if !slices.Equal(r[0].Keys, []string{"kc"}) {
		t.Errorf("retried keys: got %v, want [kc]", r[0].Keys)
	}
	if got, want := pendingTexts(t, s), []string{"b", "c"}; !slices.Equal(got, want) {
		t.Errorf("pending after retry: got %v, want %v", got, want)
	}
	// The idempotency key stays: the same webhook again queues nothing.
	if dup, _ := store.Enqueue(s, []store.Job{job(store.KindFiring, "c", "kc")}, later); len(dup) != 0 {
		t.Errorf("key kc forgotten by retry: got %d jobs queued, want 0", len(dup))
	}
	if r, err := s.RetryDeadLetters(nil, later); err != nil || len(r) != 1 || r[0].Text != "a" {
		t.Errorf("retry all: got %+v, %v, want a", r, err)
	}
	if got := deadTexts(t, s); len(got) != 0 {
		t.Errorf("dead letters after retry all: got %v, want none", got)
	}
}

func testPurgeDeadLetters(t *testing.T, open Open) {
	s := open(t)
	q := deadLetters(t, s)
	if _, err := s.PurgeDeadLetters([]uint64{q[1].ID}); !errors.Is(err, store.ErrNoDeadLetter) {
		t.Fatalf("purge of a queued job: got %v, want ErrNoDeadLetter", err)
	}
	if n, err := s.PurgeDeadLetters([]uint64{q[0].ID}); err != nil || n != 1 {
		t.Fatalf("purge a: got %d, %v, want 1", n, err)
	}
	if got, want := deadTexts(t, s), []string{"c"}; !slices.Equal(got, want) {
		t.Errorf("dead letters after purge: got %v, want %v", got, want)
	}
	if n, err := s.PurgeDeadLetters(nil); err != nil || n != 1 {
		t.Errorf("purge all: got %d, %v, want 1", n, err)
	}
	if got, want := pendingTexts(t, s), []string{"b"}; !slices.Equal(got, want) {
		t.Errorf("pending after purge: got %v, want %v", got, want)
	}
}

func testMigrations(t *testing.T, open Open) {
	s := open(t)
	for _, m := range [][2]string{{"-1", "-1001"}, {"-1001", "-1002"}, {"-7", "-8"}, {"-8", "-7"}} {
		if err := s.SetMigration(m[0], m[1]); err != nil {
			t.Fatalf("SetMigration: %v", err)
		}
	}
	for _, tc := range []struct{ in, want string }{{"-1", "-1002"}, {"-5", "-5"}} {
		if got, err := s.ChatFor(tc.in); err != nil || got != tc.want {
			t.Errorf("ChatFor(%s): got %q, %v, want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := s.ChatFor("-7"); err != nil { // a loop ends
		t.Errorf("ChatFor in a loop: %v", err)
	}
}

// testConcurrentEnqueue: Updates from several goroutines never interleave:
// every job is queued once, with distinct increasing ids.
func testConcurrentEnqueue(t *testing.T, open Open) {
	s := open(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 10 {
				k := fmt.Sprintf("g%d-%d", g, i)
				if _, err := store.Enqueue(s, []store.Job{job(store.KindFiring, k, k)}, t0); err != nil {
					t.Errorf("Enqueue %s: %v", k, err)
				}
			}
		})
	}
	wg.Wait()
	jobs, err := s.Pending(0)
	if err != nil || len(jobs) != 40 {
		t.Fatalf("pending: got %d jobs, %v, want 40", len(jobs), err)
	}
	for i := 1; i < len(jobs); i++ {
		if jobs[i].ID <= jobs[i-1].ID {
			t.Errorf("job ids out of order: %d after %d", jobs[i].ID, jobs[i-1].ID)
		}
	}
}
