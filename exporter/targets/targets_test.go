package targets

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/downtime-detector/downtime/exporter/collector"
	"github.com/downtime-detector/downtime/exporter/config"
	"github.com/downtime-detector/downtime/exporter/internal/fakes"
)

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a Manager over a fake engine, resolver and clock; nothing in
// it runs on its own: tests call resolveDue after moving the clock.
type fixture struct {
	m   *Manager
	eng *fakes.Engine
	res *fakes.Resolver
	clk *clock
	col *collector.Collector
	reg *prometheus.Registry
}

func newFixture(t *testing.T, hosts map[string]string, every time.Duration) *fixture {
	t.Helper()
	f := &fixture{eng: fakes.NewEngine(), res: fakes.NewResolver(hosts),
		clk: &clock{t: time.Unix(1_800_000_000, 0)}, reg: prometheus.NewRegistry()}
	f.col = collector.New(f.clk.now)
	f.m = New(Options{Engine: f.eng, Collector: f.col, Resolver: f.res, Now: f.clk.now,
		ResolveInterval: every, Registerer: f.reg})
	return f
}

// apply parses text (a config file) and applies it.
func (f *fixture) apply(t *testing.T, text string) {
	t.Helper()
	cfg, err := config.Parse([]byte(text), config.DefaultDefaults)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	f.m.Apply(cfg)
}

// resolve runs one round of due resolutions, as Run does every tick.
func (f *fixture) resolve(t *testing.T) { f.m.resolveDue(t.Context()) }

func (f *fixture) addr(t *testing.T, key string) netip.Addr {
	t.Helper()
	ft, ok := f.eng.Get(key)
	if !ok {
		return netip.Addr{}
	}
	return ft.T.Addr
}

func (f *fixture) wantAddr(t *testing.T, key, want string) {
	t.Helper()
	var w netip.Addr
	if want != "" {
		w = netip.MustParseAddr(want)
	}
	if got := f.addr(t, key); got != w {
		t.Errorf("%s probed at: got %v, want %v", key, got, w)
	}
}

// text scrapes the collector.
func (f *fixture) text(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	if err := f.col.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestApply(t *testing.T) {
	f := newFixture(t, nil, time.Hour)
	f.apply(t, `
targets:
  - host: 127.0.0.1
    labels: {site: lab}
  - host: 127.0.0.2
  - host: 127.0.0.3
`)
	f.wantAddr(t, "127.0.0.1", "127.0.0.1") // literals probe at once, no lookup
	first, _ := f.eng.Get("127.0.0.1")
	third, _ := f.eng.Get("127.0.0.3")
	f.eng.Probe(t, "127.0.0.1", true, f.clk.now())
	if got := testutil.ToFloat64(f.m.targets); got != 3 {
		t.Errorf("targets gauge: got %v, want 3", got)
	}

	f.apply(t, `
targets:
  - host: 127.0.0.1
    labels: {site: lab}
  - host: 127.0.0.2
    labels: {site: attic}
  - host: 127.0.0.3
    interval: 2s
`)
	if got, _ := f.eng.Get("127.0.0.1"); got.Obs != first.Obs {
		t.Errorf("unchanged target: got a new observer, want the same")
	}
	if got, _ := f.eng.Get("127.0.0.3"); got.Obs != third.Obs || got.T.Interval != 2*time.Second {
		t.Errorf("changed interval: got observer kept %v, interval %s, want kept and 2s", got.Obs == third.Obs, got.T.Interval)
	}
	if body := f.text(t); !strings.Contains(body, `ping_requests_total{site="lab",target="127.0.0.1"} 1`) ||
		!strings.Contains(body, `ping_requests_total{site="attic",target="127.0.0.2"} 0`) {
		t.Errorf("after reload: got\n%s\nwant 127.0.0.1's count kept and 127.0.0.2 under its new label", body)
	}

	f.apply(t, "targets:\n  - host: 127.0.0.2\n    labels: {site: attic}\n")
	for _, gone := range []string{"127.0.0.1", "127.0.0.3"} {
		if _, ok := f.eng.Get(gone); ok {
			t.Errorf("removed target %s: still in the engine, want removed", gone)
		}
	}
	if got := testutil.ToFloat64(f.m.targets); got != 1 {
		t.Errorf("targets gauge: got %v, want 1", got)
	}
	if body := f.text(t); strings.Contains(body, `target="127.0.0.1"`) {
		t.Errorf("removed target: got its series in\n%s\nwant none", body)
	}
}

const nameConfig = "targets:\n  - host: db.example.internal\n"

// TestResolveSchedule: a name is resolved at start, again every
// ResolveInterval and not in between; a new address moves probing with the
// same observer.
func TestResolveSchedule(t *testing.T) {
	f := newFixture(t, map[string]string{"db.example.internal": "127.0.0.5"}, time.Minute)
	f.apply(t, nameConfig)
	f.wantAddr(t, "db.example.internal", "") // not before it resolves
	f.resolve(t)
	f.wantAddr(t, "db.example.internal", "127.0.0.5")
	first, _ := f.eng.Get("db.example.internal")

	f.res.Set("db.example.internal", "127.0.0.6")
	for range 5 { // answering: no early resolution
		f.clk.add(time.Second)
		f.eng.Probe(t, "db.example.internal", true, f.clk.now())
		f.resolve(t)
	}
	if got := f.res.Calls("db.example.internal"); got != 1 {
		t.Errorf("lookups within the interval: got %d, want 1", got)
	}
	f.clk.add(time.Minute)
	f.eng.Probe(t, "db.example.internal", true, f.clk.now())
	f.resolve(t)
	f.wantAddr(t, "db.example.internal", "127.0.0.6")
	if moved, _ := f.eng.Get("db.example.internal"); moved.Obs != first.Obs {
		t.Errorf("after the address change: got a new observer, want the same")
	}
	if body := f.text(t); !strings.Contains(body, `ping_target_info{family="ip4",ip="127.0.0.6",target="db.example.internal"} 1`) {
		t.Errorf("info: got\n%s\nwant ip 127.0.0.6", body)
	}
}

// TestResolveFailure: a failed lookup counts, keeps the last address and is
// retried after an up-window (5 s at 1 s intervals), not at once.
func TestResolveFailure(t *testing.T) {
	f := newFixture(t, map[string]string{"db.example.internal": "127.0.0.5"}, time.Minute)
	f.apply(t, nameConfig)
	f.resolve(t)
	f.res.Delete("db.example.internal")
	f.clk.add(time.Minute)
	f.eng.Probe(t, "db.example.internal", true, f.clk.now())
	f.resolve(t)
	f.wantAddr(t, "db.example.internal", "127.0.0.5")
	if body := f.text(t); !strings.Contains(body, `ping_resolve_errors_total{target="db.example.internal"} 1`) {
		t.Errorf("resolve errors: got\n%s\nwant 1", body)
	}
	calls := f.res.Calls("db.example.internal")
	f.clk.add(4 * time.Second)
	f.eng.Probe(t, "db.example.internal", true, f.clk.now())
	f.resolve(t)
	if got := f.res.Calls("db.example.internal"); got != calls {
		t.Errorf("lookups 4 s after a failure: got %d more, want none before the 5 s up-window", got-calls)
	}
	f.res.Set("db.example.internal", "127.0.0.7")
	f.clk.add(time.Second)
	f.resolve(t)
	f.wantAddr(t, "db.example.internal", "127.0.0.7")
}

// TestEarlyResolve: a target that stops answering is resolved again once
// its up-window has passed, long before ResolveInterval, with a backoff
// that doubles while it stays silent.
func TestEarlyResolve(t *testing.T) {
	f := newFixture(t, map[string]string{"db.example.internal": "127.0.0.5"}, time.Hour)
	f.apply(t, nameConfig)
	f.resolve(t)
	f.eng.Probe(t, "db.example.internal", true, f.clk.now())
	var lookups []time.Duration // when, after the last reply
	start := f.clk.now()
	for range 40 { // 40 s of silence, a resolution round every second
		f.clk.add(time.Second)
		before := f.res.Calls("db.example.internal")
		f.resolve(t)
		if f.res.Calls("db.example.internal") > before {
			lookups = append(lookups, f.clk.now().Sub(start))
		}
	}
	// Up-window 5 s: first early lookup after > 5 s of silence, then waits of
	// 10 s and 20 s (doubling, capped by ResolveInterval).
	want := []time.Duration{6 * time.Second, 16 * time.Second, 36 * time.Second}
	if len(lookups) != len(want) {
		t.Fatalf("early lookups at %v after the last reply, want %v", lookups, want)
	}
	for i := range want {
		if lookups[i] != want[i] {
			t.Errorf("early lookups at %v after the last reply, want %v", lookups, want)
			break
		}
	}
	f.res.Set("db.example.internal", "127.0.0.6")
	f.clk.add(40 * time.Second) // the next wait
	f.resolve(t)
	f.wantAddr(t, "db.example.internal", "127.0.0.6")
}

// TestReloadDuringResolution: a target removed while its name is being
// looked up is not probed when the answer comes.
func TestReloadDuringResolution(t *testing.T) {
	f := newFixture(t, map[string]string{"db.example.internal": "127.0.0.5"}, time.Hour)
	f.apply(t, nameConfig)
	jobs := f.m.due(f.clk.now())
	if len(jobs) != 1 {
		t.Fatalf("due: got %d jobs, want 1", len(jobs))
	}
	f.apply(t, "targets:\n  - host: 127.0.0.1\n")
	f.m.resolved(jobs[0], netip.MustParseAddr("127.0.0.5"), nil)
	if _, ok := f.eng.Get("db.example.internal"); ok {
		t.Errorf("removed name: got probed after its lookup finished, want not")
	}
}

// TestRun: Run resolves new names at once (Apply kicks it) and stops with
// its context.
func TestRun(t *testing.T) {
	f := newFixture(t, map[string]string{"db.example.internal": "127.0.0.5"}, time.Hour)
	f.m.tick = time.Hour // only the kick can wake it
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { f.m.Run(ctx); close(done) }()
	f.apply(t, nameConfig)
	f.eng.WaitAddr(t, "db.example.internal", netip.MustParseAddr("127.0.0.5"), 10*time.Second)
	cancel()
	<-done
}

func TestResolvePick(t *testing.T) {
	r := fakes.NewResolver(nil)
	r.Set("dual.example.internal", "::5", "127.0.0.5", "127.0.0.6")
	r.Set("v6.example.internal", "::6")
	r.Set("mapped.example.internal", "::ffff:127.0.0.7")
	tests := []struct {
		host, family, current string
		want                  string
		wantErr               string
	}{
		{host: "dual.example.internal", family: "auto", want: "127.0.0.5"},
		{host: "dual.example.internal", family: "auto", current: "127.0.0.6", want: "127.0.0.6"},
		{host: "dual.example.internal", family: "ip6", want: "::5"},
		{host: "dual.example.internal", family: "ip4", current: "::5", want: "127.0.0.5"},
		{host: "v6.example.internal", family: "auto", want: "::6"},
		{host: "mapped.example.internal", family: "auto", want: "127.0.0.7"},
		{host: "v6.example.internal", family: "ip4", wantErr: "lookup v6.example.internal: no ip4 address"},
		{host: "nowhere.example.internal", family: "auto", wantErr: "lookup nowhere.example.internal: no such host"},
	}
	for _, tt := range tests {
		t.Run(tt.host+"/"+tt.family+"/"+tt.current, func(t *testing.T) {
			var cur netip.Addr
			if tt.current != "" {
				cur = netip.MustParseAddr(tt.current)
			}
			got, err := resolve(t.Context(), r, tt.host, tt.family, cur)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("got %v, error %v, want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != netip.MustParseAddr(tt.want) {
				t.Errorf("got %v, error %v, want %s", got, err, tt.want)
			}
		})
	}
}
