package ha

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/downtime-detector/downtime/internal/clock/clocktest"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// fakeLeaser is the PostgreSQL lease table's semantics in memory; a holder
// marked cut off gets errors, as a process whose database went away.
type fakeLeaser struct {
	mu      sync.Mutex
	holder  map[string]string
	expires map[string]time.Time
	cut     map[string]bool
	calls   map[string]int
}

func newFakeLeaser() *fakeLeaser {
	return &fakeLeaser{holder: map[string]string{}, expires: map[string]time.Time{}, cut: map[string]bool{}, calls: map[string]int{}}
}

func (f *fakeLeaser) TryLease(name, holder string, ttl time.Duration, now time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[holder]++
	if f.cut[holder] {
		return false, errors.New("connection refused")
	}
	if h, ok := f.holder[name]; ok && h != holder && now.Before(f.expires[name]) {
		return false, nil
	}
	f.holder[name], f.expires[name] = holder, now.Add(ttl)
	return true, nil
}

func (f *fakeLeaser) ReleaseLease(name, holder string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cut[holder] {
		return errors.New("connection refused")
	}
	if f.holder[name] == holder {
		delete(f.holder, name)
	}
	return nil
}

func (f *fakeLeaser) setCut(holder string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut[holder] = true
}

func (f *fakeLeaser) callsOf(holder string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[holder]
}

// workLog records who works when, and how many work at once.
type workLog struct {
	mu      sync.Mutex
	running atomic.Int32
	most    int32
	events  []string // "start a", "stop a", ...
	changed chan struct{}
}

func (w *workLog) work(name string) func(context.Context) {
	return func(ctx context.Context) {
		n := w.running.Add(1)
		w.note("start "+name, n)
		<-ctx.Done()
		w.running.Add(-1)
		w.note("stop "+name, 0)
	}
}

func (w *workLog) note(ev string, n int32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.most = max(w.most, n)
	w.events = append(w.events, ev)
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

func (w *workLog) maxRunning() int32 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.most
}

func (w *workLog) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return fmt.Sprint(w.events)
}

func (w *workLog) has(ev string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.events {
		if e == ev {
			return true
		}
	}
	return false
}

// waitFor waits (on the real clock, for goroutines only) until ev happened.
func (w *workLog) waitFor(t *testing.T, ev string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !w.has(ev) {
		select {
		case <-w.changed:
		case <-time.After(5 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%q did not happen; events %v", ev, w)
		}
	}
}

func gauge(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "downtime_receiver_leader" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no downtime_receiver_leader metric")
	return 0
}

// A holder cut off from the database stops working when its lease runs
// out, and the other process takes over once it has expired, never while
// the first one still works.
func TestTakeoverAfterHolderDies(t *testing.T) {
	clk := clocktest.New(t0)
	leases := newFakeLeaser()
	log := &workLog{changed: make(chan struct{}, 1)}
	regA, regB := prometheus.NewRegistry(), prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	a := New(Options{Leaser: leases, Name: "sender", Holder: "a", Clock: clk, Registerer: regA})
	b := New(Options{Leaser: leases, Name: "sender", Holder: "b", Clock: clk, Registerer: regB})
	wg.Go(func() { a.Run(ctx, log.work("a")) })
	log.waitFor(t, "start a")
	wg.Go(func() { b.Run(ctx, log.work("b")) })
	clk.WaitTimers(2)
	if got := gauge(t, regA); got != 1 {
		t.Errorf("a's leader gauge: got %v, want 1", got)
	}
	if got := gauge(t, regB); got != 0 {
		t.Errorf("b's leader gauge: got %v, want 0", got)
	}
	// a renews for a while, b keeps trying.
	for range 4 {
		clk.Advance(DefaultRenew)
		clk.WaitTimers(2)
	}
	if gauge(t, regB) != 0 || leases.callsOf("b") < 4 {
		t.Fatalf("while a renews: events %v, b tried %d times; want only a working, b trying", log, leases.callsOf("b"))
	}
	// a is cut off (kill -9 or a partition): its last renewal was at 12s.
	lastRenewal := clk.Now()
	leases.setCut("a")
	var stoppedA, startedB time.Time
	for step := 0; step < 100 && startedB.IsZero(); step++ {
		clk.Advance(500 * time.Millisecond)
		clk.WaitTimers(2)
		if stoppedA.IsZero() && log.has("stop a") {
			stoppedA = clk.Now()
		}
		// The gauge is set before the work starts and before Run waits
		// again; the work's own "start" is noted by its goroutine, later.
		if gauge(t, regB) == 1 {
			startedB = clk.Now()
		}
	}
	if stoppedA.IsZero() || stoppedA.After(lastRenewal.Add(DefaultTTL)) {
		t.Errorf("a stopped at %v, want by the end of its lease %v", stoppedA, lastRenewal.Add(DefaultTTL))
	}
	if startedB.IsZero() || startedB.Before(lastRenewal.Add(DefaultTTL)) || startedB.After(lastRenewal.Add(DefaultTTL+DefaultRenew)) {
		t.Errorf("b took over at %v (events %v), want between %v and %v", startedB, log, lastRenewal.Add(DefaultTTL), lastRenewal.Add(DefaultTTL+DefaultRenew))
	}
	log.waitFor(t, "start b")
	if log.maxRunning() != 1 {
		t.Errorf("most processes working at once: got %d, want 1 (events %v)", log.maxRunning(), log)
	}
	if got := gauge(t, regA); got != 0 {
		t.Errorf("a's leader gauge after losing the lease: got %v, want 0", got)
	}
	if got := gauge(t, regB); got != 1 {
		t.Errorf("b's leader gauge after taking over: got %v, want 1", got)
	}
}

// A clean shutdown releases the lease: the other process takes it at its
// next try instead of after the TTL.
func TestReleaseOnShutdown(t *testing.T) {
	clk := clocktest.New(t0)
	leases := newFakeLeaser()
	log := &workLog{changed: make(chan struct{}, 1)}
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { stopB(); wg.Wait() }()
	a := New(Options{Leaser: leases, Name: "sender", Holder: "a", Clock: clk})
	b := New(Options{Leaser: leases, Name: "sender", Holder: "b", Clock: clk})
	doneA := make(chan struct{})
	go func() { a.Run(ctxA, log.work("a")); close(doneA) }()
	log.waitFor(t, "start a")
	wg.Go(func() { b.Run(ctxB, log.work("b")) })
	clk.WaitTimers(2)
	stopA()
	<-doneA
	clk.WaitTimers(1)
	clk.Advance(DefaultRenew) // b's next try, well before a's lease would expire
	log.waitFor(t, "start b")
	if log.maxRunning() != 1 {
		t.Errorf("most processes working at once: got %d, want 1", log.maxRunning())
	}
}

// Without a Leaser (bbolt) the work runs at once and the gauge says so.
func TestNoLeaserAlwaysLeader(t *testing.T) {
	reg := prometheus.NewRegistry()
	l := New(Options{Name: "sender", Registerer: reg})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan float64)
	go l.Run(ctx, func(ctx context.Context) {
		ran <- gauge(t, reg)
		<-ctx.Done()
	})
	if got := <-ran; got != 1 {
		t.Errorf("gauge while working: got %v, want 1", got)
	}
	cancel()
	// Two leaders on one registry share the metric, one series per role.
	New(Options{Name: "poller", Registerer: reg})
	if n := testutil.CollectAndCount(reg, "downtime_receiver_leader"); n != 2 {
		t.Errorf("leader series: got %d, want 2 (sender, poller)", n)
	}
}
