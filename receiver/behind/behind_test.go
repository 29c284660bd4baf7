package behind

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/internal/clock/clocktest"
	"github.com/downtime-detector/downtime/receiver/alertmanager"
	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/render"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/bolt"
)

var t0 = time.Date(2026, 11, 24, 19, 0, 0, 0, time.UTC)

// fakeAM answers like Alertmanager's GET /api/v2/alerts for the filter
// alertname="HostUnreachableBehindParent".
type fakeAM struct {
	mu      sync.Mutex
	alerts  []alertmanager.Alert
	err     error
	calls   int
	filters [][]string
}

func (f *fakeAM) Alerts(_ context.Context, filter []string) ([]alertmanager.Alert, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.filters = append(f.filters, filter)
	return f.alerts, f.err
}

func (f *fakeAM) set(children ...map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.alerts = nil
	for _, l := range children {
		f.alerts = append(f.alerts, alertmanager.Alert{Labels: l, State: "active"})
	}
}

func child(target, parent, instance string) map[string]string {
	return map[string]string{"alertname": ChildAlert, "job": "ping", "instance": instance,
		"target": target, "parent": parent, "severity": "info"}
}

func parentAlert(status, behind string) template.Alert {
	return template.Alert{Status: status, Fingerprint: "fp-router1", StartsAt: t0,
		Labels: template.KV{"alertname": "HostDown", "job": "ping", "instance": "prober:9426",
			"target": "router1", "severity": "critical"},
		Annotations: template.KV{"summary": "router1 does not answer ping", "downtime_for": "25s",
			render.BehindKey: behind}}
}

type fixture struct {
	st  store.Store
	am  *fakeAM
	tr  *Tracker
	ref store.AlertRef
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r, err := render.New(config.Templates{}, time.UTC, "")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, am: &fakeAM{}, ref: store.AlertRef{Fingerprint: "fp-router1", StartsAt: t0}, now: t0.Add(time.Minute)}
	f.tr = New(Options{Store: st, Alerts: f.am, Now: func() time.Time { return f.now },
		Text: func(_ store.Job, alerts []template.Alert) (string, error) {
			msgs, err := r.Render(render.Data{Kind: render.ResolvedEdit, Alerts: alerts, Now: f.now})
			if err != nil {
				return "", err
			}
			return msgs[0].Text, nil
		}})
	return f
}

// fire stores the parent's state as the webhook and the worker leave it:
// firing, the message sent (id 0: not yet).
func (f *fixture) fire(t *testing.T, a template.Alert, messageID int) {
	t.Helper()
	raw, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	err = f.st.Update(func(tx store.Tx) error {
		return tx.PutAlertState(f.ref, store.AlertState{Firing: true, ChatID: "42", MessageID: messageID,
			Text: "🔴 router1 is down", MessageAlerts: []store.AlertRef{f.ref}, Alert: raw, Updated: f.now})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) sync(t *testing.T) {
	t.Helper()
	if err := f.tr.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

// edits returns the texts of the queued edit jobs and empties the queue.
func (f *fixture) edits(t *testing.T) []string {
	t.Helper()
	jobs, err := f.st.Pending(0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, j := range jobs {
		if j.Kind != store.KindEdit || len(j.Alerts) != 1 || j.Alerts[0].Key() != f.ref.Key() || j.ChatID != "42" {
			t.Fatalf("got job %+v, want an edit of the parent's message in chat 42", j)
		}
		out = append(out, j.Text)
		if err := f.st.Complete(j, nil, f.now); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func (f *fixture) storedHosts(t *testing.T) (string, bool) {
	t.Helper()
	st, _, err := f.st.FiringMessage(f.ref)
	if err != nil {
		t.Fatal(err)
	}
	var a template.Alert
	if err := json.Unmarshal(st.Alert, &a); err != nil {
		t.Fatal(err)
	}
	v, ok := a.Annotations[render.BehindHostsKey]
	return v, ok
}

func wantEdits(t *testing.T, got []string, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d edits %q, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		first, _, _ := strings.Cut(got[i], "\n")
		if first != w {
			t.Errorf("edit %d: got first line %q, want %q", i, first, w)
		}
	}
}

func TestParentListLifecycle(t *testing.T) {
	f := newFixture(t)
	a := parentAlert("firing", "3")
	f.fire(t, a, 0)
	f.tr.Observe(f.ref, a)
	if n := f.tr.Watching(); n != 1 {
		t.Fatalf("got %d parents watched, want 1", n)
	}
	// The children, each seen by two exporters (vantages); other parents'
	// and other jobs' children are not router1's.
	f.am.set(child("web1", "router1", "a:9426"), child("db2", "router1", "a:9426"), child("db1", "router1", "a:9426"),
		child("db1", "router1", "b:9426"), child("x1", "router2", "a:9426"),
		map[string]string{"alertname": ChildAlert, "job": "other", "target": "y1", "parent": "router1"})

	f.sync(t) // the firing message is not sent yet: nothing to edit
	wantEdits(t, f.edits(t))

	f.fire(t, a, 7)
	f.sync(t)
	wantEdits(t, f.edits(t), "🔴 <b>router1</b> is down — 3 hosts behind it are unreachable too: db1, db2, web1")
	if got := f.am.filters[len(f.am.filters)-1]; len(got) != 1 || got[0] != `alertname="HostUnreachableBehindParent"` {
		t.Errorf("got filter %q, want alertname=\"HostUnreachableBehindParent\"", got)
	}

	f.sync(t) // unchanged: no edit
	wantEdits(t, f.edits(t))

	// A repeat webhook stores the alert without the list: the list is put
	// back, but the message already shows it.
	f.fire(t, a, 7)
	f.sync(t)
	wantEdits(t, f.edits(t))
	if v, ok := f.storedHosts(t); !ok || v != "db1,db2,web1" {
		t.Errorf("stored list: got %q (%v), want \"db1,db2,web1\"", v, ok)
	}

	f.am.set(child("db1", "router1", "a:9426"), child("web1", "router1", "a:9426")) // db2 is back
	f.sync(t)
	wantEdits(t, f.edits(t), "🔴 <b>router1</b> is down — 2 hosts behind it are unreachable too: db1, web1")

	f.am.set() // all back while the router is still down
	f.sync(t)
	wantEdits(t, f.edits(t), "🔴 <b>router1</b> is down")

	f.am.set(child("db1", "router1", "a:9426")) // db1 fails again
	f.sync(t)
	wantEdits(t, f.edits(t), "🔴 <b>router1</b> is down — 1 host behind it is unreachable too: db1")

	f.tr.Observe(f.ref, parentAlert("resolved", "0"))
	if n := f.tr.Watching(); n != 0 {
		t.Errorf("resolved: got %d parents watched, want 0", n)
	}
}

func TestNothingLearntKeepsTheCount(t *testing.T) {
	f := newFixture(t)
	a := parentAlert("firing", "3")
	f.fire(t, a, 7)
	f.tr.Observe(f.ref, a)
	f.sync(t) // the children's alerts are not in Alertmanager yet
	wantEdits(t, f.edits(t))
	if v, ok := f.storedHosts(t); ok {
		t.Errorf("got stored list %q, want none (the count stays)", v)
	}
}

// markResolved records the parent's alert as resolved in the store, as
// the webhook of its resolved notification (to any receiver) would.
func (f *fixture) markResolved(t *testing.T) {
	t.Helper()
	err := f.st.Update(func(tx store.Tx) error {
		st, _, err := tx.AlertState(f.ref)
		if err != nil {
			return err
		}
		st.Resolved = true
		return tx.PutAlertState(f.ref, st)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestResolvedParentIsDropped(t *testing.T) {
	f := newFixture(t)
	a := parentAlert("firing", "2")
	f.fire(t, a, 7)
	f.tr.Observe(f.ref, a)
	f.markResolved(t)
	f.am.set(child("db1", "router1", "a:9426"))
	f.sync(t)
	wantEdits(t, f.edits(t))
	if n := f.tr.Watching(); n != 0 {
		t.Errorf("got %d parents watched, want 0", n)
	}
}

func TestObserveWatchesOnlyParents(t *testing.T) {
	f := newFixture(t)
	noBehind := parentAlert("firing", "0")
	loss := parentAlert("firing", "3")
	loss.Labels["alertname"] = "HostPacketLoss"
	noCount := parentAlert("firing", "")
	for _, a := range []template.Alert{noBehind, loss, noCount} {
		f.tr.Observe(f.ref, a)
	}
	if n := f.tr.Watching(); n != 0 {
		t.Errorf("got %d parents watched, want 0", n)
	}
	f.sync(t)
	if f.am.calls != 0 {
		t.Errorf("got %d Alertmanager calls with no parent down, want 0", f.am.calls)
	}
}

func TestAlertmanagerError(t *testing.T) {
	f := newFixture(t)
	a := parentAlert("firing", "3")
	f.fire(t, a, 7)
	f.tr.Observe(f.ref, a)
	f.am.err = errors.New("connection refused")
	err := f.tr.Sync(context.Background())
	if err == nil || !strings.Contains(err.Error(), "HostUnreachableBehindParent") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("got %v, want an error naming the alerts listed and the cause", err)
	}
	wantEdits(t, f.edits(t))
}

// TestRunRetriesSoonUntilSent: a list known before the parent's firing
// message is sent is shown RetrySoon later, then syncs are back to the
// interval.
func TestRunRetriesSoonUntilSent(t *testing.T) {
	f := newFixture(t)
	clk := clocktest.New(t0)
	a := parentAlert("firing", "3")
	f.fire(t, a, 0)
	f.am.set(child("db1", "router1", "a:9426"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.tr.Run(ctx, clk, 30*time.Second); close(done) }()
	defer func() { cancel(); <-done }()
	clk.WaitTimers(1) // the first sync: no parent yet
	f.tr.Observe(f.ref, a)
	waitCalls(t, f.am, 1) // the kick: the message is not sent yet
	clk.WaitTimers(1)
	wantEdits(t, f.edits(t))

	f.fire(t, a, 7) // the worker sent it
	clk.Advance(RetrySoon)
	waitCalls(t, f.am, 2)
	clk.WaitTimers(1)
	wantEdits(t, f.edits(t), "🔴 <b>router1</b> is down — 1 host behind it is unreachable too: db1")

	clk.Advance(RetrySoon) // back to the interval: no sync
	clk.WaitTimers(1)
	if n := f.am.callCount(); n != 2 {
		t.Errorf("got %d Alertmanager calls %v after the message was edited, want still 2", n, RetrySoon)
	}
	clk.Advance(30 * time.Second)
	waitCalls(t, f.am, 3)
}

func (f *fakeAM) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// waitCalls waits until Alertmanager was asked n times; it polls an
// outcome and times nothing.
func waitCalls(t *testing.T, am *fakeAM, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for am.callCount() < n {
		if time.Now().After(deadline) {
			t.Fatalf("got %d Alertmanager calls after 10 s, want %d", am.callCount(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestEndedParentIsDroppedWithoutList: a parent whose alert ended without
// the webhook telling (pruned, resolved by the reconciler) is forgotten
// even when nothing was learnt about it.
func TestEndedParentIsDroppedWithoutList(t *testing.T) {
	f := newFixture(t)
	f.tr.Observe(f.ref, parentAlert("firing", "3")) // no state stored: unknown
	f.sync(t)
	if n := f.tr.Watching(); n != 0 {
		t.Errorf("got %d parents watched, want 0", n)
	}
}

// watched returns the parents recorded in the store, as target=shown.
func (f *fixture) watched(t *testing.T) []string {
	t.Helper()
	ps, err := f.st.WatchedParents()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range ps {
		shown := "<nil>"
		if p.Shown != nil {
			shown = strings.Join(p.Shown, ",")
		}
		out = append(out, p.Target+"="+shown)
	}
	return out
}

// A tracker started on the store of another (a restarted receiver) loads
// the watched parent with the list its message shows: an unchanged list
// is not edited again, a changed one is, with no new Observe; the entry
// ends when the parent resolves.
func TestWatchedParentsSurviveRestart(t *testing.T) {
	f := newFixture(t)
	a := parentAlert("firing", "2")
	f.fire(t, a, 7)
	f.tr.Observe(f.ref, a)
	if got := f.watched(t); !slices.Equal(got, []string{"router1=<nil>"}) {
		t.Fatalf("after Observe: got %q, want [router1=<nil>] (watched, never edited)", got)
	}
	f.am.set(child("db1", "router1", "a:9426"), child("db2", "router1", "a:9426"))
	f.sync(t)
	wantEdits(t, f.edits(t), "🔴 <b>router1</b> is down — 2 hosts behind it are unreachable too: db1, db2")
	if got := f.watched(t); !slices.Equal(got, []string{"router1=db1,db2"}) {
		t.Fatalf("after the edit: got %q, want [router1=db1,db2]", got)
	}

	// The restart: a new tracker on the same store, nothing observed.
	restarted := New(f.tr.opts)
	if n := restarted.Watching(); n != 0 {
		t.Fatalf("before Load: got %d parents watched, want 0", n)
	}
	if err := restarted.Load(); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if n := restarted.Watching(); n != 1 {
		t.Fatalf("after Load: got %d parents watched, want 1", n)
	}
	f.tr = restarted
	f.sync(t)
	wantEdits(t, f.edits(t)) // the message shows this list already
	f.am.set(child("db1", "router1", "a:9426"), child("db2", "router1", "a:9426"), child("web1", "router1", "a:9426"))
	f.sync(t)
	wantEdits(t, f.edits(t), "🔴 <b>router1</b> is down — 3 hosts behind it are unreachable too: db1, db2, web1")
	if got := f.watched(t); !slices.Equal(got, []string{"router1=db1,db2,web1"}) {
		t.Errorf("after the second edit: got %q, want [router1=db1,db2,web1]", got)
	}

	f.tr.Observe(f.ref, parentAlert("resolved", "3"))
	if got := f.watched(t); len(got) != 0 {
		t.Errorf("after the parent resolved: got %q, want none watched", got)
	}
}

// A parent whose alert ended without its resolved notification reaching
// the tracker (resolved by another receiver, or pruned) is forgotten in
// the store as well.
func TestEndedParentIsUnwatched(t *testing.T) {
	f := newFixture(t)
	a := parentAlert("firing", "2")
	f.fire(t, a, 7)
	f.tr.Observe(f.ref, a)
	f.markResolved(t)
	f.sync(t)
	if got, n := f.watched(t), f.tr.Watching(); len(got) != 0 || n != 0 {
		t.Errorf("got %q recorded and %d watched, want none", got, n)
	}
}

// Observe rewrites the entry of a parent it watches once per touchEvery,
// so that Prune keeps the entry of a long outage.
func TestObserveTouchesEntry(t *testing.T) {
	f := newFixture(t)
	a := parentAlert("firing", "2")
	f.fire(t, a, 7)
	f.tr.Observe(f.ref, a)
	updated := func() time.Time {
		ps, err := f.st.WatchedParents()
		if err != nil || len(ps) != 1 {
			t.Fatalf("WatchedParents: got %v, %v, want one", ps, err)
		}
		return ps[0].Updated
	}
	first := f.now
	f.now = f.now.Add(touchEvery / 2)
	f.tr.Observe(f.ref, a)
	if got := updated(); !got.Equal(first) {
		t.Errorf("repeat within touchEvery: got updated %v, want %v (no write)", got, first)
	}
	f.now = first.Add(touchEvery)
	f.tr.Observe(f.ref, a)
	if got := updated(); !got.Equal(f.now) {
		t.Errorf("repeat after touchEvery: got updated %v, want %v", got, f.now)
	}
	if _, err := f.st.Prune(f.now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := updated(); !got.Equal(f.now) {
		t.Errorf("after Prune: got updated %v, want the touched entry kept", got)
	}
	if _, err := f.st.Prune(f.now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := f.watched(t); len(got) != 0 {
		t.Errorf("after Prune past it: got %q, want the entry pruned", got)
	}
}
