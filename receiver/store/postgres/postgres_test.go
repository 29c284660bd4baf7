package postgres_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/downtime-detector/downtime/internal/pgtest"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/postgres"
)

func openPG(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// receive does what the webhook handler does with one notification: read
// the alert's state, decide, store the state and queue the job with its
// idempotency key, all in one transaction.
func receive(s *postgres.Store, n int, now time.Time) (int, error) {
	ref := store.AlertRef{Route: "ops", Fingerprint: fmt.Sprintf("fp%d", n), StartsAt: t0}
	var queued []store.Job
	err := s.Update(func(tx *postgres.Tx) error {
		st, _, err := tx.AlertState(ref)
		if err != nil {
			return err
		}
		queued = nil
		if st.Firing {
			return nil
		}
		st.Firing, st.Updated = true, now
		if err := tx.PutAlertState(ref, st); err != nil {
			return err
		}
		j := store.Job{Kind: store.KindFiring, ChatID: "-100", Text: fmt.Sprint(n), Alerts: []store.AlertRef{ref},
			Keys: []string{ref.Key() + "/firing"}}
		queued, err = tx.Enqueue([]store.Job{j}, now)
		return err
	})
	return len(queued), err
}

// Two receivers (two pools) given the same notifications at the same time
// queue each exactly once.
func TestConcurrentEnqueueSameNotification(t *testing.T) {
	dsn := pgtest.DB(t)
	a, b := openPG(t, dsn), openPG(t, dsn)
	const notifications = 50
	counts := make([][2]int, notifications)
	var wg sync.WaitGroup
	errs := make(chan error, 2*notifications)
	for n := range notifications {
		for i, s := range []*postgres.Store{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				q, err := receive(s, n, t0)
				if err != nil {
					errs <- err
				}
				counts[n][i] = q
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("receive: %v", err)
	}
	for n, c := range counts {
		if c[0]+c[1] != 1 {
			t.Errorf("notification %d: queued %d by a and %d by b, want 1 in all", n, c[0], c[1])
		}
	}
	jobs, err := a.Pending(0)
	if err != nil || len(jobs) != notifications {
		t.Fatalf("pending: got %d jobs, %v, want %d", len(jobs), err, notifications)
	}
	seen := map[string]bool{}
	for _, j := range jobs {
		if seen[j.Text] {
			t.Errorf("notification %s queued twice", j.Text)
		}
		seen[j.Text] = true
	}
}

// A message id recorded by Complete is not overwritten by a concurrent
// planning transaction that read the state before it (a lost update).
func TestCompleteAndPlanDoNotLoseUpdates(t *testing.T) {
	dsn := pgtest.DB(t)
	a, b := openPG(t, dsn), openPG(t, dsn)
	ref := store.AlertRef{Fingerprint: "fp", StartsAt: t0}
	q, err := a.Enqueue([]store.Job{{Kind: store.KindFiring, Alerts: []store.AlertRef{ref}, Keys: []string{"k"}}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	read := make(chan struct{})
	done := make(chan error)
	first := true
	go func() {
		done <- b.Update(func(tx *postgres.Tx) error {
			st, _, err := tx.AlertState(ref)
			if err != nil {
				return err
			}
			if first {
				first = false
				close(read)
				<-done // Complete has committed
			}
			st.Reminder++
			return tx.PutAlertState(ref, st)
		})
	}()
	<-read
	if err := a.Complete(q[0], []store.Sent{{ChatID: "-1", MessageID: 7}}, t0); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	done <- nil
	if err := <-done; err != nil {
		t.Fatalf("Update: %v", err)
	}
	st, ok, err := a.FiringMessage(ref)
	if err != nil || !ok || st.MessageID != 7 || st.Reminder != 1 {
		t.Errorf("state: got %+v %v %v, want message 7 and reminder 1", st, ok, err)
	}
}

func TestClaimsAreDisjoint(t *testing.T) {
	dsn := pgtest.DB(t)
	a, b := openPG(t, dsn), openPG(t, dsn)
	var jobs []store.Job
	for i := range 200 {
		jobs = append(jobs, store.Job{Kind: store.KindFiring, Text: fmt.Sprint(i), Keys: []string{fmt.Sprint(i)}})
	}
	if _, err := a.Enqueue(jobs, t0); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[uint64]string{}
	var wg sync.WaitGroup
	for w := range 4 {
		s := []*postgres.Store{a, b}[w%2]
		holder := fmt.Sprintf("worker%d", w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				claimed, err := s.Claim(holder, 7, time.Minute, t0)
				if err != nil {
					t.Errorf("Claim: %v", err)
					return
				}
				if len(claimed) == 0 {
					return
				}
				mu.Lock()
				for _, j := range claimed {
					if other, dup := got[j.ID]; dup {
						t.Errorf("job %d claimed by %s and %s", j.ID, other, holder)
					}
					got[j.ID] = holder
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(got) != len(jobs) {
		t.Errorf("claimed %d jobs, want %d", len(got), len(jobs))
	}
	// Claims expire: a dead worker's jobs go to the next claimer.
	if again, _ := b.Claim("late", 1000, time.Minute, t0.Add(59*time.Second)); len(again) != 0 {
		t.Errorf("claim before expiry: got %d jobs, want 0", len(again))
	}
	again, err := b.Claim("late", 1000, time.Minute, t0.Add(time.Minute))
	if err != nil || len(again) != len(jobs) || again[0].Text != "0" {
		t.Errorf("claim after expiry: got %d jobs, %v, want %d in queue order", len(again), err, len(jobs))
	}
}

func TestLeaseTakeover(t *testing.T) {
	dsn := pgtest.DB(t)
	a, b := openPG(t, dsn), openPG(t, dsn)
	const ttl = 10 * time.Second
	steps := []struct {
		s      *postgres.Store
		holder string
		at     time.Duration
		want   bool
	}{
		{a, "a", 0, true},
		{b, "b", 5 * time.Second, false},        // a holds it
		{a, "a", 5 * time.Second, true},         // renewal: until 15s
		{b, "b", 14 * time.Second, false},       // a stopped renewing, not yet expired
		{b, "b", 15 * time.Second, true},        // expired: b takes over
		{a, "a", 16 * time.Second, false},       // a is back: b holds it
		{b, "b", 20 * time.Second, true},        // b renews
		{a, "a", 20*time.Second + ttl/2, false}, // still b's
	}
	for i, st := range steps {
		got, err := st.s.TryLease("telegram", st.holder, ttl, t0.Add(st.at))
		if err != nil || got != st.want {
			t.Fatalf("step %d: TryLease(%s at %v): got %v, %v, want %v", i, st.holder, st.at, got, err, st.want)
		}
	}
	if h, ok, err := a.LeaseHolder("telegram", t0.Add(21*time.Second)); err != nil || !ok || h != "b" {
		t.Errorf("LeaseHolder: got %q %v %v, want b", h, ok, err)
	}
	// Leases are independent by name.
	if ok, _ := a.TryLease("queue", "a", ttl, t0.Add(21*time.Second)); !ok {
		t.Errorf("lease queue: got false, want true")
	}
	// Release by a non-holder does nothing; by the holder hands over at once.
	if err := a.ReleaseLease("telegram", "a"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := a.TryLease("telegram", "a", ttl, t0.Add(22*time.Second)); ok {
		t.Errorf("lease taken after a release by a non-holder")
	}
	if err := b.ReleaseLease("telegram", "b"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := a.TryLease("telegram", "a", ttl, t0.Add(22*time.Second)); !ok {
		t.Errorf("lease not taken after the holder released it")
	}
}

// Two instances racing for a free lease: exactly one wins.
func TestLeaseRace(t *testing.T) {
	dsn := pgtest.DB(t)
	stores := []*postgres.Store{openPG(t, dsn), openPG(t, dsn)}
	for round := range 20 {
		name := fmt.Sprint("lease", round)
		var wg sync.WaitGroup
		won := make([]bool, 4)
		for i := range won {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := stores[i%2].TryLease(name, fmt.Sprint("holder", i), time.Minute, t0)
				if err != nil {
					t.Errorf("TryLease: %v", err)
				}
				won[i] = ok
			}()
		}
		wg.Wait()
		n := 0
		for _, w := range won {
			if w {
				n++
			}
		}
		if n != 1 {
			t.Errorf("round %d: %d winners %v, want 1", round, n, won)
		}
	}
}

func TestValues(t *testing.T) {
	s := openPG(t, pgtest.DB(t))
	if _, ok, err := s.Value(postgres.KeyUpdatesOffset); ok || err != nil {
		t.Errorf("Value before set: got %v, %v, want not found", ok, err)
	}
	if err := s.SetValue(postgres.KeyUpdatesOffset, []byte("41")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetValue(postgres.KeyUpdatesOffset, []byte("42")); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := s.Value(postgres.KeyUpdatesOffset); string(v) != "42" || !ok || err != nil {
		t.Errorf("Value: got %q %v %v, want 42", v, ok, err)
	}
	key := postgres.KeyHeartbeatPrefix + "ops"
	for i, tc := range []struct {
		old, new string
		nilOld   bool
		want     bool
	}{
		{nilOld: true, new: "ok", want: true},
		{nilOld: true, new: "ok", want: false}, // exists already
		{old: "silent", new: "warned", want: false},
		{old: "ok", new: "warned", want: true},
		{old: "ok", new: "warned", want: false}, // the loser of a race
	} {
		var old []byte
		if !tc.nilOld {
			old = []byte(tc.old)
		}
		if got, err := s.SwapValue(key, old, []byte(tc.new)); got != tc.want || err != nil {
			t.Errorf("step %d: SwapValue(%q -> %q): got %v, %v, want %v", i, tc.old, tc.new, got, err, tc.want)
		}
	}
	if v, _, _ := s.Value(key); string(v) != "warned" {
		t.Errorf("heartbeat value: got %q, want warned", v)
	}
}

func TestMigrations(t *testing.T) {
	dsn := pgtest.DB(t)
	// Receivers starting together: each migration is applied once.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.Open(context.Background(), dsn, postgres.Options{})
			if err != nil {
				t.Errorf("concurrent Open: %v", err)
				return
			}
			s.Close()
		}()
	}
	wg.Wait()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n, max int
	if err := conn.QueryRow(ctx, "SELECT count(*), max(version) FROM schema_migrations").Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	// Versions are numbered per feature, so there may be gaps: one row per file.
	files, _ := filepath.Glob("migrations/*.sql")
	if want := postgres.SchemaVersion(); n != len(files) || max != want {
		t.Errorf("schema_migrations: got %d rows up to %d, want %d up to %d", n, max, len(files), want)
	}
	// A database migrated by a newer receiver is refused.
	if _, err := conn.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future')"); err != nil {
		t.Fatal(err)
	}
	_, err = postgres.Open(ctx, dsn, postgres.Options{})
	if err == nil || !strings.Contains(err.Error(), "schema version 9999 is newer") {
		t.Errorf("Open of a newer schema: got %v, want a \"newer\" error", err)
	}
}

// The password never appears in errors, whatever failed.
func TestPasswordNeverInErrors(t *testing.T) {
	c := pgtest.Shared(t)
	good := pgtest.DB(t)
	pw := c.Password()
	for _, tc := range []struct{ name, dsn string }{
		{"bad port", strings.Replace(good, "127.0.0.1:", "127.0.0.1:x", 1)},
		{"wrong database", strings.Replace(good, "/test_", "/missing_", 1)},
		{"wrong user", strings.Replace(good, "//postgres:", "//nobody:", 1)},
		{"key-value form", "host=127.0.0.1 port=1 user=postgres password=" + pw + " connect_timeout=5"},
		{"quoted key-value", "host=127.0.0.1 port=x user=postgres password='" + pw + "'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			s, err := postgres.Open(ctx, tc.dsn, postgres.Options{})
			if err == nil {
				s.Close()
				t.Fatalf("Open(%s): no error, want one", postgres.Redact(tc.dsn))
			}
			t.Logf("error: %v", err)
			if strings.Contains(err.Error(), pw) {
				t.Errorf("error contains the password: %v", err)
			}
			if r := postgres.Redact(tc.dsn); strings.Contains(r, pw) {
				t.Errorf("Redact: got %q, contains the password", r)
			}
		})
	}
	s := openPG(t, good)
	if strings.Contains(s.Path(), pw) {
		t.Errorf("Path: got %q, contains the password", s.Path())
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://rx:s3cret@db.example:5432/downtime?sslmode=require", "postgres://rx:xxxxx@db.example:5432/downtime?sslmode=require"},
		{"postgresql://rx:s3cret@db.example/downtime", "postgresql://rx:xxxxx@db.example/downtime"},
		{"postgres://rx@db.example/downtime", "postgres://rx@db.example/downtime"},
		{"host=db.example user=rx password=s3cret dbname=downtime", "host=db.example user=rx password=xxxxx dbname=downtime"},
		{"host=db.example password='s3 cret' dbname=downtime", "host=db.example password=xxxxx dbname=downtime"},
		{"postgres://rx:s3cret@db.example:port/downtime", "postgres://rx:xxxxx@db.example:port/downtime"},
	} {
		if got := postgres.Redact(tc.dsn); got != tc.want {
			t.Errorf("Redact(%q): got %q, want %q", tc.dsn, got, tc.want)
		}
	}
}

// A holder that vanishes without releasing (kill -9: its pool is gone) is
// replaced once its ttl has passed, on the real clock. The bound is loose:
// it only fails if takeover does not happen at all within seconds.
func TestLeaseTakeoverWallClock(t *testing.T) {
	dsn := pgtest.DB(t)
	a, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := openPG(t, dsn)
	const ttl = 500 * time.Millisecond
	if ok, err := a.TryLease("telegram", "a", ttl, time.Now()); !ok || err != nil {
		t.Fatalf("a: got %v, %v, want the lease", ok, err)
	}
	a.Close() // a dies without releasing
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err := b.TryLease("telegram", "b", ttl, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b did not take over the lease within 10s of a's death (ttl %v)", ttl)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if h, ok, _ := b.LeaseHolder("telegram", time.Now()); !ok || h != "b" {
		t.Errorf("holder: got %q %v, want b", h, ok)
	}
}

// A connection killed in the middle of a transaction commits nothing, and
// the store goes on with a new connection.
func TestConnectionKilledMidTransaction(t *testing.T) {
	dsn := pgtest.DB(t)
	s := openPG(t, dsn)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	killed := false
	err = s.Update(func(tx *postgres.Tx) error {
		if _, err := tx.Enqueue([]store.Job{{Kind: store.KindFiring, Text: "lost", Keys: []string{"k"}}}, t0); err != nil {
			return err
		}
		if !killed {
			killed = true
			_, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
				WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'`)
			if err != nil {
				return err
			}
		}
		_, err := tx.Enqueue([]store.Job{{Kind: store.KindFiring, Text: "lost too", Keys: []string{"k2"}}}, t0)
		return err
	})
	if err == nil {
		t.Fatalf("Update with its connection killed: no error, want one")
	}
	if jobs, err := s.Pending(0); err != nil || len(jobs) != 0 {
		t.Errorf("pending: got %v, %v, want none", jobs, err)
	}
	q, err := s.Enqueue([]store.Job{{Kind: store.KindFiring, Text: "again", Keys: []string{"k"}}}, t0)
	if err != nil || len(q) != 1 {
		t.Errorf("enqueue after the kill: got %v, %v, want the job queued (key k was never committed)", q, err)
	}
}
