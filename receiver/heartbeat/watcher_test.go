package heartbeat

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/downtime-detector/downtime/internal/clock/clocktest"
	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/render"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/bolt"
)

// routes: /webhook/ops goes to chat -200, anything else to the default -100.
type routes struct{}

func (routes) Route(name, _ string, _ map[string]string) (config.Route, error) {
	if name == "ops" {
		return config.Route{Name: "ops", ChatID: "-200"}, nil
	}
	return config.Route{ChatID: "-100"}, nil
}

type env struct {
	t     *testing.T
	dir   string
	st    *bolt.Store
	clk   *clocktest.Fake
	w     *Watcher
	reg   *prometheus.Registry
	stop  func()
	queue int // Queued calls
	mu    sync.Mutex
}

func newEnv(t *testing.T) *env {
	e := &env{t: t, dir: t.TempDir(), clk: clocktest.New(t0)}
	e.open()
	t.Cleanup(func() { e.close() })
	return e
}

// open opens the store and a new watcher on it: a receiver (re)start.
func (e *env) open() {
	st, err := bolt.OpenWith(e.dir, bolt.Options{NoSync: true})
	if err != nil {
		e.t.Fatal(err)
	}
	rnd, err := render.New(config.Templates{}, time.UTC, "")
	if err != nil {
		e.t.Fatal(err)
	}
	e.st, e.reg = st, prometheus.NewRegistry()
	e.w = New(Options{Store: st, Router: routes{}, Renderer: rnd, Clock: e.clk, Registerer: e.reg,
		Settings: func() Settings { return Settings{Alertname: "Watchdog", Timeout: 5 * time.Minute} },
		Queued:   func() { e.mu.Lock(); e.queue++; e.mu.Unlock() }})
}

// run starts the loop and waits until it sleeps on the clock.
func (e *env) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.w.Run(ctx); close(done) }()
	e.stop = func() { cancel(); <-done }
	e.clk.WaitTimers(1)
}

func (e *env) close() {
	if e.stop != nil {
		e.stop()
		e.stop = nil
	}
	e.st.Close()
}

// advance moves the clock one minute at a time (the loop's longest sleep)
// and waits after each step until the loop has looked and sleeps again.
func (e *env) advance(d time.Duration) {
	for end := e.clk.Now().Add(d); e.clk.Now().Before(end); {
		next := e.clk.Now().Add(MaxWait)
		if next.After(end) {
			next = end
		}
		e.clk.Set(next)
		e.clk.WaitTimers(1)
	}
}

func (e *env) beat(path string, extra ...template.Alert) []template.Alert {
	e.t.Helper()
	a := template.Alert{Status: "firing", Labels: template.KV{"alertname": "Watchdog", "severity": "none"}, StartsAt: t0}
	data := &template.Data{Receiver: "telegram", ExternalURL: "http://127.0.0.1:9093", Alerts: append([]template.Alert{a}, extra...)}
	rest, err := e.w.Take(path, data)
	if err != nil {
		e.t.Fatalf("Take: %v", err)
	}
	return rest
}

func (e *env) pending() []store.Job {
	e.t.Helper()
	jobs, err := e.st.Pending(0)
	if err != nil {
		e.t.Fatal(err)
	}
	return jobs
}

func TestTakeKeepsOtherAlerts(t *testing.T) {
	e := newEnv(t)
	host := template.Alert{Status: "firing", Labels: template.KV{"alertname": "HostDown"}, StartsAt: t0}
	resolvedWatchdog := template.Alert{Status: "resolved", Labels: template.KV{"alertname": "Watchdog"}, StartsAt: t0}
	rest := e.beat("", host, resolvedWatchdog)
	if len(rest) != 1 || rest[0].Labels["alertname"] != "HostDown" {
		t.Errorf("rest: got %v, want only HostDown", rest)
	}
	if jobs := e.pending(); len(jobs) != 0 {
		t.Errorf("a heartbeat queued %v, want nothing", jobs)
	}
	hs, _ := e.st.Heartbeats()
	if len(hs) != 1 || hs[0].Source != "/telegram" || !hs[0].Last.Equal(t0) || hs[0].ChatID != "-100" ||
		hs[0].ExternalURL != "http://127.0.0.1:9093" {
		t.Errorf("heartbeats: got %+v, want one from /telegram at %v to -100", hs, t0)
	}
}

func TestNeverSeenSaysNothing(t *testing.T) {
	e := newEnv(t)
	e.run()
	e.advance(time.Hour)
	if jobs := e.pending(); len(jobs) != 0 {
		t.Errorf("without any heartbeat: got %v, want nothing", jobs)
	}
}

// TestSilenceWarnsOnceAcrossRestartThenBack: heartbeats stop; exactly one
// warning within the timeout, none repeated by a restart in the silence;
// the next heartbeat queues the "back" reply to the warning.
func TestSilenceWarnsOnceAcrossRestartThenBack(t *testing.T) {
	e := newEnv(t)
	e.beat("ops")
	e.run()
	e.advance(4 * time.Minute)
	if jobs := e.pending(); len(jobs) != 0 {
		t.Fatalf("4m after the heartbeat: got %v, want nothing yet", jobs)
	}
	e.advance(time.Minute) // 5m: the timeout
	jobs := e.pending()
	if len(jobs) != 1 {
		t.Fatalf("at the timeout: got %d jobs, want one warning", len(jobs))
	}
	warn := jobs[0]
	if warn.Kind != store.KindFiring || warn.ChatID != "-200" || warn.Route != "ops" ||
		!strings.Contains(warn.Text, "no heartbeat from Alertmanager since 14:02 (5m)") ||
		!strings.Contains(warn.Text, "route ops") {
		t.Errorf("warning: got %+v, want a firing job to -200 naming route ops", warn)
	}
	if got := value(t, e.reg, "downtime_receiver_heartbeat_missing"); got != 1 {
		t.Errorf("missing: got %v, want 1", got)
	}

	// Restart in the middle of the silence.
	e.close()
	e.open()
	e.run()
	e.advance(30 * time.Minute)
	if jobs := e.pending(); len(jobs) != 1 {
		t.Fatalf("after a restart in the silence: got %d jobs, want still the one warning", len(jobs))
	}
	// The sender delivers the warning as message 42.
	if err := e.st.Complete(warn, []store.Sent{{ChatID: "-200", MessageID: 42, Text: warn.Text}}, e.clk.Now()); err != nil {
		t.Fatal(err)
	}
	e.stop()
	e.stop = nil
	e.beat("ops")
	jobs = e.pending()
	if len(jobs) != 1 {
		t.Fatalf("heartbeat back: got %d jobs, want one reply", len(jobs))
	}
	back := jobs[0]
	if back.Kind != store.KindResolved || back.ChatID != "-200" || len(back.Alerts) != 1 || back.Alerts[0] != warn.Alerts[0] ||
		!strings.Contains(back.Text, "monitoring is back after 35m") {
		t.Errorf("back: got %+v, want a resolved reply to the warning's alert saying 35m", back)
	}
	if st, ok, _ := e.st.FiringMessage(back.Alerts[0]); !ok || st.MessageID != 42 {
		t.Errorf("reply target: got %+v %v, want message 42", st, ok)
	}
	if got := value(t, e.reg, "downtime_receiver_heartbeat_missing"); got != 0 {
		t.Errorf("missing after back: got %v, want 0", got)
	}
	e.beat("ops")
	if jobs := e.pending(); len(jobs) != 1 {
		t.Errorf("a second heartbeat: got %d jobs, want still one", len(jobs))
	}
	// A new silence warns again, once.
	e.run()
	e.advance(6 * time.Minute)
	if jobs := e.pending(); len(jobs) != 2 || jobs[1].Kind != store.KindFiring {
		t.Errorf("second silence: got %v, want a second warning", jobs)
	}
}

// TestPerSource: two routes send heartbeats; only the silent one warns,
// and it is named.
func TestPerSource(t *testing.T) {
	e := newEnv(t)
	e.beat("ops")
	e.beat("")
	e.run()
	for range 6 {
		e.advance(time.Minute)
		e.stop()
		e.beat("") // the default route keeps beating
		e.run()
	}
	jobs := e.pending()
	if len(jobs) != 1 || jobs[0].ChatID != "-200" || !strings.Contains(jobs[0].Text, "route ops") {
		t.Errorf("got %v, want one warning for route ops only", jobs)
	}
}

// value gathers the single series of a gauge.
func value(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s: not one series", name)
	return 0
}

// TestRestartAfterDowntime: the receiver itself was down for longer than
// the timeout. Its restart is not a silence: it waits one timeout from its
// start for a heartbeat, says nothing when one comes, and warns one
// timeout after its start, naming the last heartbeat, when none comes.
func TestRestartAfterDowntime(t *testing.T) {
	for _, beats := range []bool{true, false} {
		t.Run(map[bool]string{true: "heartbeats resume", false: "still silent"}[beats], func(t *testing.T) {
			e := newEnv(t)
			e.beat("ops")
			e.run()
			e.advance(2 * time.Minute)
			e.close() // the receiver dies 2m after the last heartbeat...
			e.clk.Advance(time.Hour)
			e.open() // ...and starts again an hour later
			e.run()
			e.advance(4 * time.Minute)
			if jobs := e.pending(); len(jobs) != 0 {
				t.Fatalf("4m after the restart: got %v, want nothing (the restart is not a silence)", jobs)
			}
			if got := value(t, e.reg, "downtime_receiver_heartbeat_missing"); got != 0 {
				t.Errorf("missing 4m after the restart: got %v, want 0", got)
			}
			if beats {
				e.stop()
				e.beat("ops")
				e.run()
			}
			e.advance(time.Minute) // one timeout after the restart
			jobs := e.pending()
			switch {
			case beats && len(jobs) != 0:
				t.Errorf("heartbeats resumed within the timeout: got %v, want nothing", jobs)
			case !beats && (len(jobs) != 1 || !strings.Contains(jobs[0].Text, "no heartbeat from Alertmanager since 14:02 (1h07m)")):
				t.Errorf("one timeout after the restart: got %v, want one warning since 14:02 (1h07m)", jobs)
			}
			if beats {
				e.advance(5 * time.Minute)
				if jobs := e.pending(); len(jobs) != 1 || !strings.Contains(jobs[0].Text, "since 15:08 (5m)") {
					t.Errorf("silent after the resumed heartbeat: got %v, want one warning since 15:08 (5m)", jobs)
				}
			}
		})
	}
}
