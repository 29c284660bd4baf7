package reconcile

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/downtime-detector/downtime/receiver/alertmanager"
	"github.com/downtime-detector/downtime/receiver/alertmanager/amtest"
)

// fakeHolder holds alerts as firing until Resolve is called for them.
type fakeHolder struct {
	mu       sync.Mutex
	firing   []Held
	resolved []Decision
	failNext error
}

func (h *fakeHolder) Firing(context.Context) ([]Held, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Held(nil), h.firing...), nil
}

func (h *fakeHolder) Resolve(_ context.Context, ds []Decision) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failNext; err != nil {
		h.failNext = nil
		return err
	}
	for _, d := range ds {
		h.resolved = append(h.resolved, d)
		for i, f := range h.firing {
			if f.Fingerprint == d.Fingerprint {
				h.firing = append(h.firing[:i], h.firing[i+1:]...)
				break
			}
		}
	}
	return nil
}

type fixedSource []alertmanager.Snapshot

func (s *fixedSource) Snapshots(context.Context, []string) []alertmanager.Snapshot { return *s }

func TestLoopOnce(t *testing.T) {
	src := &fixedSource{peer(up, amAlert("suppressed", t0, now.Add(time.Hour), "s"))}
	h := &fakeHolder{firing: []Held{held}}
	reg := prometheus.NewRegistry()
	l := NewLoop(src, h, reg, nil)
	clock := now
	l.Now = func() time.Time { return clock }
	ctx := context.Background()

	if ds, err := l.Once(ctx); err != nil || ds[0].Verdict != Firing {
		t.Fatalf("round 1: %v %v, want firing", ds, err)
	}
	*src = fixedSource{down}
	clock = clock.Add(15 * time.Second)
	if _, err := l.Once(ctx); !errors.Is(err, ErrNoAlertmanager) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("round 2: err %v, want ErrNoAlertmanager with the cause", err)
	}
	if len(h.resolved) != 0 {
		t.Fatalf("resolved %v while Alertmanager was down", h.resolved)
	}
	*src = fixedSource{peer(up)}
	clock = clock.Add(15 * time.Second)
	h.failNext = errors.New("store closed")
	if _, err := l.Once(ctx); err == nil {
		t.Fatal("round 3: want the holder's error")
	}
	clock = clock.Add(15 * time.Second)
	if _, err := l.Once(ctx); err != nil {
		t.Fatalf("round 4: %v", err)
	}
	if len(h.resolved) != 1 || h.resolved[0].Reason != ReasonSuppressed || !h.resolved[0].EndsAt.Equal(now.Add(30*time.Second)) {
		t.Fatalf("resolved %+v, want one, suppressed, ending at the first miss %s", h.resolved, now.Add(30*time.Second))
	}
	if v := testutil.ToFloat64(l.metrics.resolved.WithLabelValues(ReasonSuppressed)); v != 1 {
		t.Errorf("resolved_total{reason=suppressed} = %v, want 1", v)
	}
	if v := testutil.ToFloat64(l.metrics.failed); v != 2 {
		t.Errorf("runs_failed_total = %v, want 2", v)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n == 0 {
		t.Errorf("gather: %d series, %v", n, err)
	}
}

// A restart between "seen suppressed" and "gone" keeps the verdict: the
// state is saved after a round and loaded by the next loop.
func TestLoopStateAcrossRestart(t *testing.T) {
	var saved State
	save := func(st State) error { saved = st; return nil }
	load := func() (State, error) { return saved, nil }
	src := &fixedSource{peer(up, amAlert("suppressed", t0, now.Add(time.Hour), "s"))}
	h := &fakeHolder{firing: []Held{held}}
	l := NewLoop(src, h, nil, nil)
	l.Now, l.Save, l.Load = func() time.Time { return now }, save, load
	if ds, err := l.Once(context.Background()); err != nil || ds[0].Verdict != Firing {
		t.Fatalf("round 1: %v %v, want firing", ds, err)
	}
	if !saved[held.Fingerprint].Suppressed {
		t.Fatalf("saved state %+v, want the alert seen suppressed", saved)
	}
	*src = fixedSource{peer(up)}
	l2 := NewLoop(src, h, nil, nil) // the receiver restarted
	l2.Now, l2.Save, l2.Load = func() time.Time { return now.Add(time.Minute) }, save, load
	if ds, err := l2.Once(context.Background()); err != nil || ds[0].Verdict != Resolved || ds[0].Reason != ReasonSuppressed {
		t.Fatalf("after restart: %+v %v, want resolved (suppressed) at once, not LostGrace later", ds, err)
	}
}

// TestRealSilencedAndInhibitedRecovery: Debian's Alertmanager, an alert the
// receiver holds as firing is silenced (another one inhibited), then
// Prometheus resolves both; Alertmanager sends no resolved webhook for them,
// and the reconciler reports both, in the first round after.
func TestRealSilencedAndInhibitedRecovery(t *testing.T) {
	u := amtest.Start(t)
	c, err := alertmanager.New(alertmanager.Config{URLs: []*url.URL{u}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Now().Add(-time.Minute).Truncate(time.Second)
	a := map[string]string{"alertname": "HostDown", "target": "host-a", "job": "ping", "instance": "e:9426"}
	b := map[string]string{"alertname": "HostDown", "target": "host-b", "job": "edge", "instance": "e:9426"}
	exp := map[string]string{"alertname": "ExporterDown", "job": "edge", "instance": "e:9426"}
	for _, l := range []map[string]string{a, b, exp} {
		amtest.PostAlert(t, u, l, start, time.Now().Add(time.Hour))
	}
	as, err := c.Alerts(ctx, []string{`alertname="HostDown"`})
	if err != nil || len(as) != 2 {
		t.Fatalf("alerts %+v, %v; want 2", as, err)
	}
	h := &fakeHolder{}
	for _, x := range as {
		h.firing = append(h.firing, Held{Route: "ops", Fingerprint: x.Fingerprint, Labels: x.Labels, StartsAt: x.StartsAt})
	}
	if _, err := c.CreateSilence(ctx, alertmanager.SilenceRequest{Labels: a, CreatedBy: "@alice",
		StartsAt: time.Now(), EndsAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	l := NewLoop(c, h, nil, nil)
	l.Options.RestartGrace = time.Nanosecond // the test's Alertmanager just started
	ds, err := l.Once(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Verdict != Firing || d.State != "suppressed" {
			t.Errorf("%s: %s/%s, want firing and suppressed", d.Labels["target"], d.Verdict, d.State)
		}
	}
	// Both hosts recover: Prometheus sends them with endsAt now.
	ended := time.Now()
	amtest.PostAlert(t, u, a, start, ended)
	amtest.PostAlert(t, u, b, start, ended)
	if _, err := l.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if len(h.resolved) != 2 || len(h.firing) != 0 {
		t.Fatalf("resolved %+v, still firing %+v; want both resolved", h.resolved, h.firing)
	}
	for _, d := range h.resolved {
		if d.Reason != ReasonSuppressed || d.EndsAt.Before(ended.Add(-time.Second)) {
			t.Errorf("%s: reason %s ends %s, want suppressed, ending after %s", d.Labels["target"], d.Reason, d.EndsAt, ended)
		}
	}
}

func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewLoop(&fixedSource{}, &fakeHolder{}, reg, nil)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	h := &fakeHolder{firing: []Held{held}}
	src := &fixedSource{peer(up)}
	l := NewLoop(src, h, nil, nil)
	l.Now = func() time.Time { return now }
	l.state = State{"fp1": {Suppressed: true}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Run(ctx); err != nil {
		t.Fatal(err)
	}
	// One round ran before Run noticed the cancel.
	if len(h.resolved) != 1 || h.resolved[0].Reason != ReasonSuppressed {
		t.Errorf("resolved %+v, want one, suppressed", h.resolved)
	}
}

// countingHolder counts the rounds that asked it.
type countingHolder struct {
	fakeHolder
	calls chan struct{}
}

func (h *countingHolder) Firing(ctx context.Context) ([]Held, error) {
	select {
	case h.calls <- struct{}{}:
	default:
	}
	return h.fakeHolder.Firing(ctx)
}

// Run skips its rounds while Active says no, and reads Every before each
// wait: a reload that adds an Alertmanager starts the rounds.
func TestRunActiveAndEvery(t *testing.T) {
	h := &countingHolder{calls: make(chan struct{}, 1)}
	l := NewLoop(&fixedSource{}, h, nil, nil)
	var mu sync.Mutex
	active, everyCalls := false, 0
	l.Active = func() bool { mu.Lock(); defer mu.Unlock(); return active }
	l.Every = func() time.Duration { mu.Lock(); defer mu.Unlock(); everyCalls++; return time.Millisecond }
	l.Interval = time.Hour // never used: Every wins
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = l.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	// Several inactive rounds pass without asking the holder.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		mu.Lock()
		n := everyCalls
		mu.Unlock()
		if n >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not wait Every between rounds")
		}
	}
	select {
	case <-h.calls:
		t.Fatal("the holder was asked while Active said no")
	default:
	}
	mu.Lock()
	active = true
	mu.Unlock()
	select {
	case <-h.calls:
	case <-time.After(time.Minute):
		t.Fatal("no round within a minute after Active said yes")
	}
}
