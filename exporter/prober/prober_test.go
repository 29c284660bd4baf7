package prober

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/exporter/netns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// recorder is an Observer that keeps everything it is told.
type recorder struct {
	mu                          sync.Mutex
	sent, replied, late, lost   int
	failed                      int
	rtts, lateRTTs              []time.Duration
	errs                        []error
	inFlight                    int // sent minus replied, lost, failed
	negativeInFlight, lateOfNew bool
}

func (r *recorder) Sent(time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent++
	r.inFlight++
}

func (r *recorder) Replied(rtt time.Duration, _ time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.replied++
	r.rtts = append(r.rtts, rtt)
	r.done()
}

func (r *recorder) Late(rtt time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.late++
	r.lateRTTs = append(r.lateRTTs, rtt)
	if r.late > r.lost {
		r.lateOfNew = true
	}
}

func (r *recorder) Lost() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lost++
	r.done()
}

func (r *recorder) SendFailed(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed++
	r.errs = append(r.errs, err)
	r.done()
}

func (r *recorder) done() {
	r.inFlight--
	if r.inFlight < 0 {
		r.negativeInFlight = true
	}
}

type counts struct{ sent, replied, late, lost, failed int }

func (r *recorder) counts() counts {
	r.mu.Lock()
	defer r.mu.Unlock()
	return counts{r.sent, r.replied, r.late, r.lost, r.failed}
}

func (r *recorder) medianRTT() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return median(r.rtts)
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// checkConsistent fails if the event sequence broke the Observer contract.
func (r *recorder) checkConsistent(t *testing.T, name string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.negativeInFlight {
		t.Errorf("%s: more outcomes than probes sent", name)
	}
	if r.lateOfNew {
		t.Errorf("%s: Late for a probe that was not reported Lost", name)
	}
	if r.replied+r.lost+r.failed > r.sent {
		t.Errorf("%s: got %d outcomes, want at most %d (sent)", name, r.replied+r.lost+r.failed, r.sent)
	}
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// newEngine creates an engine inside ns (so its sockets live there).
func newEngine(t testing.TB, ns *netns.NS, opts Options) Engine {
	t.Helper()
	var e Engine
	err := ns.Do(func() error {
		var err error
		e, err = New(opts)
		return err
	})
	if err != nil {
		t.Fatalf("New(%+v): %v", opts, err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// newNS creates a namespace where unprivileged ICMP sockets are allowed.
func newNS(t testing.TB) *netns.NS {
	t.Helper()
	netns.Require(t)
	ns := netns.New(t)
	ns.Sysctl(t, "net.ipv4.ping_group_range", "0 2147483647")
	return ns
}

type variant struct {
	name string
	opts Options
}

var variants = []variant{
	{"shared/privileged", Options{Engine: EngineShared, Mode: Privileged}},
	{"shared/unprivileged", Options{Engine: EngineShared, Mode: Unprivileged}},
	{"pro-bing/privileged", Options{Engine: EngineProBing, Mode: Privileged}},
	{"pro-bing/unprivileged", Options{Engine: EngineProBing, Mode: Unprivileged}},
}

func add(t *testing.T, e Engine, key string, tg Target) *recorder {
	t.Helper()
	r := &recorder{}
	if err := e.Add(key, tg, r); err != nil {
		t.Fatalf("Add(%q, %+v): %v", key, tg, err)
	}
	return r
}

func TestLoopback(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			ns := newNS(t)
			e := newEngine(t, ns, v.opts)
			recs := map[string]*recorder{}
			for _, a := range []string{"127.0.0.1", "127.0.0.2", "::1"} {
				// A timeout far above loopback's RTT: a loaded machine
				// delays pro-bing's user-space receive stamp by tens of ms.
				recs[a] = add(t, e, a, Target{Addr: netip.MustParseAddr(a), Interval: 20 * time.Millisecond, Timeout: time.Second})
			}
			for a, r := range recs {
				waitFor(t, 5*time.Second, a+" to reply 10 times", func() bool { return r.counts().replied >= 10 })
			}
			for a, r := range recs {
				c := r.counts()
				if c.lost != 0 || c.failed != 0 || c.late != 0 {
					t.Errorf("%s: got %+v, want no lost, late or failed probes", a, c)
				}
				if m := r.medianRTT(); m <= 0 || m > 5*time.Millisecond {
					t.Errorf("%s: got median RTT %s, want in (0, 5ms]", a, m)
				}
				r.checkConsistent(t, a)
			}
		})
	}
}

func TestSharedAddressAndRemove(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			ns := newNS(t)
			e := newEngine(t, ns, v.opts)
			// The timeout is far above loopback's RTT (see TestLoopback).
			tg := Target{Addr: netip.MustParseAddr("127.0.0.1"), Interval: 10 * time.Millisecond, Timeout: time.Second}
			a, b := add(t, e, "a", tg), add(t, e, "b", tg)
			waitFor(t, 5*time.Second, "both to reply", func() bool {
				return a.counts().replied >= 10 && b.counts().replied >= 10
			})
			e.Remove("a")
			before := a.counts()
			time.Sleep(200 * time.Millisecond)
			if got := a.counts(); got != before {
				t.Errorf("removed target: got %+v after Remove, want %+v", got, before)
			}
			if got := b.counts(); got.lost != 0 || got.replied < before.replied {
				t.Errorf("remaining target: got %+v, want it still replying without loss", got)
			}
			a.checkConsistent(t, "a")
			b.checkConsistent(t, "b")
		})
	}
}

// hostNS returns a namespace with an engine (prober side) and a second one
// (the host) connected by a veth link; it returns the host's address.
func hostNS(t testing.TB, opts Options) (Engine, *netns.NS, netip.Addr) {
	t.Helper()
	prober := newNS(t)
	host := netns.New(t)
	l := netns.Connect(t, prober, host)
	return newEngine(t, prober, opts), host, l.AddrB
}

func TestLostAndLate(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			e, host, addr := hostNS(t, v.opts)
			host.EchoResponder(t, 60*time.Millisecond)
			r := add(t, e, "slow", Target{Addr: addr, Interval: 50 * time.Millisecond, Timeout: 30 * time.Millisecond})
			waitFor(t, 5*time.Second, "5 late replies", func() bool { return r.counts().late >= 5 })
			e.Remove("slow")
			c := r.counts()
			if c.replied != 0 || c.lost < c.late {
				t.Errorf("got %+v, want no replies and every late one lost first", c)
			}
			// pro-bing stamps a reply when its goroutine reads it, which a
			// loaded machine delays (228 ms seen); the shared engine uses
			// the kernel's receive timestamp.
			slack := 200 * time.Millisecond
			if v.opts.Engine == EngineProBing {
				slack = 2 * time.Second
			}
			for _, rtt := range r.lateRTTs {
				if rtt < 55*time.Millisecond || rtt > slack {
					t.Errorf("got late RTT %s, want about 60ms (at most %s)", rtt, slack)
				}
			}
			r.checkConsistent(t, "slow")
		})
	}
}

func TestDelay20ms(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			e, host, addr := hostNS(t, v.opts)
			host.EchoResponder(t, 20*time.Millisecond)
			r := add(t, e, "h", Target{Addr: addr, Interval: 20 * time.Millisecond, Timeout: 200 * time.Millisecond})
			waitFor(t, 10*time.Second, "50 replies", func() bool { return r.counts().replied >= 50 })
			if m := r.medianRTT(); m < 18*time.Millisecond || m > 22*time.Millisecond {
				t.Errorf("got median RTT %s, want 20ms +- 2ms", m)
			}
			r.checkConsistent(t, "h")
		})
	}
}

func TestLoss30(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			netns.Require(t, "nft")
			e, host, addr := hostNS(t, v.opts)
			host.SetLoss(t, 30)
			// Four targets on one address: 1000 probes in 2.5 s, and a check
			// that targets sharing an address do not steal replies.
			var recs []*recorder
			for i := range 4 {
				recs = append(recs, add(t, e, fmt.Sprint(i), Target{Addr: addr, Interval: 10 * time.Millisecond, Timeout: 50 * time.Millisecond}))
			}
			total := func() (c counts) {
				for _, r := range recs {
					rc := r.counts()
					c.sent += rc.sent
					c.replied += rc.replied
					c.lost += rc.lost
					c.failed += rc.failed
				}
				return c
			}
			waitFor(t, 15*time.Second, "1000 probes", func() bool { c := total(); return c.replied+c.lost >= 1000 })
			c := total()
			// A reply is counted at once, a loss only when its timeout fires,
			// which a loaded CI machine delays: probes still in flight are
			// mostly losses not yet counted. So the loss lies between the
			// share counted lost (all in flight replied) and the share not
			// replied (all in flight lost); 30 % must be within 5 of that range.
			inFlight := c.sent - c.replied - c.lost - c.failed
			low := 100 * float64(c.lost) / float64(c.replied+c.lost)
			high := 100 * float64(c.lost+inFlight) / float64(c.replied+c.lost+inFlight)
			if high < 25 || low > 35 {
				t.Errorf("got loss between %.1f%% and %.1f%% (%+v), want 30%% +- 5", low, high, c)
			}
			if inFlight > c.sent/4 {
				t.Errorf("%d of %d probes still in flight: their timeouts never fired", inFlight, c.sent)
			}
			for i, r := range recs {
				r.checkConsistent(t, fmt.Sprint(i))
			}
		})
	}
}

func TestForbiddenMode(t *testing.T) {
	netns.Require(t)
	ns := netns.New(t)
	ns.Sysctl(t, "net.ipv4.ping_group_range", "1 0")
	for _, engine := range []string{EngineShared, EngineProBing} {
		t.Run(engine, func(t *testing.T) {
			err := ns.Do(func() error {
				e, err := New(Options{Engine: engine, Mode: Unprivileged})
				if err == nil {
					e.Close()
				}
				return err
			})
			if err == nil || !strings.Contains(err.Error(), "net.ipv4.ping_group_range") ||
				!strings.Contains(err.Error(), `"1 0"`) {
				t.Errorf("got error %v, want one that names net.ipv4.ping_group_range and its value \"1 0\"", err)
			}
		})
	}
}

func TestSourceAddress(t *testing.T) {
	ns := newNS(t)
	reg := prometheus.NewRegistry()
	e := newEngine(t, ns, Options{Registerer: reg})
	good := add(t, e, "good", Target{Addr: netip.MustParseAddr("127.0.0.1"), Source: netip.MustParseAddr("127.0.0.3"), Interval: 20 * time.Millisecond})
	bad := add(t, e, "bad", Target{Addr: netip.MustParseAddr("127.0.0.1"), Source: netip.MustParseAddr("198.18.255.254"), Interval: 20 * time.Millisecond})
	waitFor(t, 5*time.Second, "replies and failures", func() bool {
		return good.counts().replied >= 5 && bad.counts().failed >= 5
	})
	if c := bad.counts(); c.replied != 0 {
		t.Errorf("non-local source: got %+v, want only send failures", c)
	}
	// The kernel refuses a non-local source (ENETUNREACH or EINVAL): the
	// self metric counts it under the errno's name.
	var errno syscall.Errno
	bad.mu.Lock()
	firstErr := bad.errs[0]
	bad.mu.Unlock()
	if !errors.As(firstErr, &errno) {
		t.Fatalf("got send error %v, want a syscall.Errno inside", firstErr)
	}
	label := errnoName(errno)
	if got := testutil.ToFloat64(e.(*shared).m.sendErrors.WithLabelValues(label)); got < 5 {
		t.Errorf("downtime_exporter_send_errors_total{errno=%q}: got %v, want >= 5", label, got)
	}
	if !strings.HasPrefix(label, "E") {
		t.Errorf("errno label: got %q, want a name like ENETUNREACH", label)
	}
	names, err := testutil.GatherAndCount(reg)
	if err != nil || names == 0 {
		t.Errorf("gather self metrics: got %d series, err %v", names, err)
	}
	for _, name := range []string{"downtime_exporter_send_errors_total", "downtime_exporter_receive_drops_total",
		"downtime_exporter_probes_late_total", "downtime_exporter_probe_schedule_lag_seconds"} {
		if n, err := testutil.GatherAndCount(reg, name); err != nil || n == 0 {
			t.Errorf("%s: got %d series (err %v), want some", name, n, err)
		}
	}
	if err := e.Add("mixed", Target{Addr: netip.MustParseAddr("::1"), Source: netip.MustParseAddr("127.0.0.1")}, &recorder{}); err == nil {
		t.Error("IPv6 target with IPv4 source: got no error, want one")
	}
}

// TestRTTUnderLoad: with 1000 loopback targets probed every second, a host
// behind a 20ms responder reads 20ms +- 0.2ms (median), thanks to kernel
// receive timestamps and send times taken right before the syscall.
func TestRTTUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping load test in -short mode")
	}
	for _, v := range variants[:2] {
		t.Run(v.name, func(t *testing.T) {
			e, host, addr := hostNS(t, v.opts)
			host.EchoResponder(t, 20*time.Millisecond)
			load := &recorder{}
			for i := range 1000 {
				if err := e.Add(fmt.Sprint("load", i), Target{Addr: loopbackAddr(i)}, load); err != nil {
					t.Fatal(err)
				}
			}
			r := add(t, e, "h", Target{Addr: addr, Interval: 20 * time.Millisecond, Timeout: 200 * time.Millisecond})
			waitFor(t, 20*time.Second, "100 replies", func() bool { return r.counts().replied >= 100 })
			if m := r.medianRTT(); m < 19800*time.Microsecond || m > 20200*time.Microsecond {
				t.Errorf("got median RTT %s, want 20ms +- 0.2ms", m)
			}
			if c := load.counts(); c.replied < 1000 || c.lost > 0 {
				t.Errorf("load targets: got %+v, want >= 1000 replies, none lost", c)
			}
			t.Logf("median RTT %s over %d replies", r.medianRTT(), r.counts().replied)
		})
	}
}

// TestOutage: a host whose link goes down is reported lost (never replied)
// until the link comes back.
func TestOutage(t *testing.T) {
	for _, v := range variants[:2] {
		t.Run(v.name, func(t *testing.T) {
			prober := newNS(t)
			host := netns.New(t)
			l := netns.Connect(t, prober, host)
			e := newEngine(t, prober, v.opts)
			r := add(t, e, "h", Target{Addr: l.AddrB, Interval: 10 * time.Millisecond, Timeout: 20 * time.Millisecond})
			waitFor(t, 5*time.Second, "replies", func() bool { return r.counts().replied >= 5 })
			l.Down(t)
			down := r.counts()
			waitFor(t, 5*time.Second, "losses", func() bool { c := r.counts(); return c.lost+c.failed >= down.lost+down.failed+10 })
			if c := r.counts(); c.replied > down.replied+2 { // replies in flight when the link went down
				t.Errorf("link down: got %d new replies, want none", c.replied-down.replied)
			}
			l.Up(t)
			up := r.counts()
			waitFor(t, 10*time.Second, "replies after the outage", func() bool { return r.counts().replied >= up.replied+5 })
			r.checkConsistent(t, "h")
		})
	}
}

func TestTickFor(t *testing.T) {
	for _, tc := range []struct {
		shortest time.Duration
		want     time.Duration
	}{
		{0, maxTick}, // no target
		{time.Second, maxTick},
		{200 * time.Millisecond, maxTick},
		{100 * time.Millisecond, 50 * time.Millisecond}, // half the shortest interval
		{20 * time.Millisecond, 10 * time.Millisecond},
		{time.Millisecond, time.Millisecond}, // never below 1 ms
	} {
		if got := tickFor(tc.shortest); got != tc.want {
			t.Errorf("tickFor(%s): got %s, want %s", tc.shortest, got, tc.want)
		}
	}
}
