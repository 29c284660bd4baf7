package collector

import (
	"bytes"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// clock is a settable time source for ping_up.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var t0 = time.Unix(1_700_000_000, 0)

func TestCollector(t *testing.T) {
	clk := &clock{t: t0}
	c := New(clk.now)
	a := NewTarget("127.0.0.1", map[string]string{"site": "lab"}, time.Second)
	b := NewTarget("router.example.internal", map[string]string{"role": "gw"}, time.Second)
	a.SetAddr(netip.MustParseAddr("127.0.0.1"))
	c.SetTargets([]*Target{a, b})

	// a: 3 probes, 2 replies (the last at t0+2s), one late reply, one send error.
	for i := range 3 {
		a.Sent(t0.Add(time.Duration(i) * time.Second))
	}
	a.Replied(100*time.Microsecond, t0)
	a.Lost()
	a.Late(1500 * time.Millisecond)
	a.Replied(3*time.Millisecond, t0.Add(2*time.Second))
	a.SendFailed(errors.New("sendto: no route to host"))
	// b does not resolve.
	b.ResolveFailed()
	b.ResolveFailed()

	clk.t = t0.Add(7 * time.Second) // exactly 5 intervals after a's last reply
	want := `
# HELP ping_up 1 if the target replied within the last 5 probe intervals (the up-window), else 0.
# TYPE ping_up gauge
ping_up{role="",site="lab",target="127.0.0.1"} 1
ping_up{role="gw",site="",target="router.example.internal"} 0
# HELP ping_requests_total Echo requests sent.
# TYPE ping_requests_total counter
ping_requests_total{role="",site="lab",target="127.0.0.1"} 3
ping_requests_total{role="gw",site="",target="router.example.internal"} 0
# HELP ping_responses_total Echo replies received within the timeout.
# TYPE ping_responses_total counter
ping_responses_total{role="",site="lab",target="127.0.0.1"} 2
ping_responses_total{role="gw",site="",target="router.example.internal"} 0
# HELP ping_late_responses_total Echo replies received after the timeout (counted as lost).
# TYPE ping_late_responses_total counter
ping_late_responses_total{role="",site="lab",target="127.0.0.1"} 1
ping_late_responses_total{role="gw",site="",target="router.example.internal"} 0
# HELP ping_send_errors_total Echo requests the kernel refused to send.
# TYPE ping_send_errors_total counter
ping_send_errors_total{role="",site="lab",target="127.0.0.1"} 1
ping_send_errors_total{role="gw",site="",target="router.example.internal"} 0
# HELP ping_resolve_errors_total Failed resolutions of the target's name.
# TYPE ping_resolve_errors_total counter
ping_resolve_errors_total{role="",site="lab",target="127.0.0.1"} 0
ping_resolve_errors_total{role="gw",site="",target="router.example.internal"} 2
# HELP ping_last_response_timestamp_seconds Unix time of the last echo reply received within the timeout.
# TYPE ping_last_response_timestamp_seconds gauge
ping_last_response_timestamp_seconds{role="",site="lab",target="127.0.0.1"} 1.700000002e+09
# HELP ping_target_info Address being probed for the target (ip and family empty while the name does not resolve) and its parent (present when any target has one, empty for none).
# TYPE ping_target_info gauge
ping_target_info{family="ip4",ip="127.0.0.1",role="",site="lab",target="127.0.0.1"} 1
ping_target_info{family="",ip="",role="gw",site="",target="router.example.internal"} 1
`
	names := []string{"ping_up", "ping_requests_total", "ping_responses_total", "ping_late_responses_total",
		"ping_send_errors_total", "ping_resolve_errors_total", "ping_last_response_timestamp_seconds", "ping_target_info"}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	// A nanosecond past the up-window, a is down.
	clk.t = clk.t.Add(time.Nanosecond)
	wantUp := `
# HELP ping_up 1 if the target replied within the last 5 probe intervals (the up-window), else 0.
# TYPE ping_up gauge
ping_up{role="",site="lab",target="127.0.0.1"} 0
ping_up{role="gw",site="",target="router.example.internal"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(wantUp), "ping_up"); err != nil {
		t.Errorf("after the up-window: %v", err)
	}
}

// TestUpWindow walks through an outage at the default 1 s interval: one lost
// probe never flips ping_up, an outage brings it to 0 within 5 s, and the
// first reply brings it back.
func TestUpWindow(t *testing.T) {
	tg := NewTarget("127.0.0.1", nil, time.Second)
	replyAt := func(s float64) { tg.Replied(time.Millisecond, t0.Add(time.Duration(s*float64(time.Second)))) }
	up := func(s float64) bool { return tg.Up(t0.Add(time.Duration(s * float64(time.Second)))) }

	if up(0) {
		t.Errorf("before any reply: got up, want down")
	}
	replyAt(0)
	// probe at 1 s lost, reply at 2 s
	if !up(1.9) {
		t.Errorf("one lost probe: got down, want up")
	}
	replyAt(2)
	// outage from 2.5 s on: down at 7 s (last reply + 5 s) at the latest
	for _, s := range []float64{3, 5, 6.9, 7} {
		if !up(s) {
			t.Errorf("at %vs, 5 s window not over: got down, want up", s)
		}
	}
	if up(7.001) {
		t.Errorf("at 7.001s, 5 s after the last reply: got up, want down")
	}
	replyAt(20)
	if !up(20) {
		t.Errorf("first reply after the outage: got down, want up")
	}
	tg.SetInterval(10 * time.Second)
	if !up(69) || up(70.1) {
		t.Errorf("10 s interval: got up(69)=%v up(70.1)=%v, want true false", up(69), up(70.1))
	}
}

func TestHistogram(t *testing.T) {
	c := New(nil)
	tg := NewTarget("::1", nil, time.Second)
	c.SetTargets([]*Target{tg})
	tg.Replied(60*time.Microsecond, t0)
	tg.Replied(20*time.Millisecond, t0)
	tg.Late(5 * time.Second) // not observed
	g := prometheus.NewPedanticRegistry()
	g.MustRegister(c)
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "ping_rtt_seconds" {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		if h.GetSampleCount() != 2 {
			t.Errorf("sample count: got %d, want 2", h.GetSampleCount())
		}
		if got, want := len(h.GetBucket()), len(RTTBuckets); got != want {
			t.Errorf("classic buckets: got %d, want %d", got, want)
		}
		if h.GetSchema() == 0 && len(h.GetPositiveSpan()) == 0 {
			t.Errorf("native histogram: got no spans, want some")
		}
		if got := mf.GetMetric()[0].GetLabel()[0].GetValue(); got != "::1" {
			t.Errorf("target label: got %q, want %q", got, "::1")
		}
		return
	}
	t.Errorf("got no ping_rtt_seconds, want one")
}

// TestRemovedTargetVanishes checks that SetTargets drops a target's series.
func TestRemovedTargetVanishes(t *testing.T) {
	c := New(nil)
	a, b := NewTarget("127.0.0.1", nil, time.Second), NewTarget("127.0.0.2", map[string]string{"x": "1"}, time.Second)
	c.SetTargets([]*Target{a, b})
	if got := testutil.CollectAndCount(c, "ping_requests_total"); got != 2 {
		t.Errorf("got %d series, want 2", got)
	}
	c.SetTargets([]*Target{a})
	want := "# HELP ping_requests_total Echo requests sent.\n# TYPE ping_requests_total counter\nping_requests_total{target=\"127.0.0.1\"} 0\n"
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "ping_requests_total"); err != nil {
		t.Error(err)
	}
}

// benchTargets returns a collector of n targets with two labels each.
func benchTargets(n int) *Collector {
	c := New(nil)
	ts := make([]*Target, n)
	for i := range ts {
		ts[i] = NewTarget(fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255),
			map[string]string{"site": fmt.Sprint("s", i%10), "role": "host"}, time.Second)
		ts[i].SetAddr(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
		ts[i].Sent(t0)
		ts[i].Replied(time.Millisecond, time.Now())
	}
	c.SetTargets(ts)
	return c
}

// BenchmarkCollect gathers 10,000 targets, as a scrape does before encoding.
func BenchmarkCollect(b *testing.B) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(benchTargets(10_000))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScrape is a whole text-format scrape of 10,000 targets through
// promhttp (gather, encode), as the exporter serves it.
func BenchmarkScrape(b *testing.B) { benchScrape(b, "") }

// BenchmarkScrapeGzip is BenchmarkScrape as Prometheus asks for it: gzip.
func BenchmarkScrapeGzip(b *testing.B) { benchScrape(b, "gzip") }

func benchScrape(b *testing.B, encoding string) {
	h := promhttp.HandlerFor(Gatherers{prometheus.NewRegistry(), benchTargets(10_000)}, promhttp.HandlerOpts{})
	req := httptest.NewRequest("GET", "/metrics", nil)
	if encoding != "" {
		req.Header.Set("Accept-Encoding", encoding)
	}
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("got status %d, want 200", w.Code)
		}
		b.SetBytes(int64(w.Body.Len()))
	}
}

// TestParentLabel: ping_target_info gets "parent" when any target has one
// (empty for the others), and no "parent" at all when none has.
func TestParentLabel(t *testing.T) {
	c := New(nil)
	a := NewTarget("router.example.internal", nil, time.Second)
	b := NewTarget("db.example.internal", nil, time.Second)
	c.SetTargets([]*Target{a, b})
	const head = `
# HELP ping_target_info Address being probed for the target (ip and family empty while the name does not resolve) and its parent (present when any target has one, empty for none).
# TYPE ping_target_info gauge
`
	want := head + `ping_target_info{family="",ip="",target="db.example.internal"} 1
ping_target_info{family="",ip="",target="router.example.internal"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "ping_target_info"); err != nil {
		t.Errorf("no parent: %v", err)
	}
	b.SetParent("router.example.internal")
	c.SetTargets([]*Target{a, b})
	want = head + `ping_target_info{family="",ip="",parent="router.example.internal",target="db.example.internal"} 1
ping_target_info{family="",ip="",parent="",target="router.example.internal"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "ping_target_info"); err != nil {
		t.Errorf("with parent: %v", err)
	}
	var buf bytes.Buffer
	if err := c.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	line := `ping_target_info{family="",ip="",parent="router.example.internal",target="db.example.internal"} 1` + "\n"
	if !strings.Contains(buf.String(), line) {
		t.Errorf("text: got\n%s\nwant a line %s", buf.String(), line)
	}
}

// TestSeriesPerTarget counts the series one target costs a Prometheus in
// each mode (README.md "Series per host"): text-format series, and what a
// Prometheus that ingests native histograms keeps from protobuf (a
// histogram with native buckets is one series; classic buckets are 1 per
// bucket plus _sum and _count).
func TestSeriesPerTarget(t *testing.T) {
	for _, tc := range []struct {
		name       string
		o          Options
		text, pb   int // series per healthy target
		withErrors int // text series when its error counters are not 0
	}{
		{"classic+native", Options{}, 28, 9, 28},
		{"classic", Options{RTT: RTTClassic}, 28, 28, 28},
		{"native", Options{RTT: RTTNative}, 10, 9, 10},
		{"classic,omit-zero-errors", Options{RTT: RTTClassic, OmitZeroErrors: true}, 25, 25, 28},
		{"native,omit-zero-errors", Options{RTT: RTTNative, OmitZeroErrors: true}, 7, 6, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Unix(1_800_000_000, 0)
			c := NewWithOptions(func() time.Time { return now }, tc.o)
			tg := c.NewTarget("127.0.0.1", nil, time.Second)
			tg.Sent(now)
			tg.Replied(time.Millisecond, now)
			c.SetTargets([]*Target{tg})
			if got := textSeries(t, c); got != tc.text {
				t.Errorf("text: got %d series, want %d", got, tc.text)
			}
			if got := nativeSeries(t, c); got != tc.pb {
				t.Errorf("protobuf, native histograms on: got %d series, want %d", got, tc.pb)
			}
			tg.Late(2 * time.Second)
			tg.SendFailed(nil)
			tg.ResolveFailed()
			if got := textSeries(t, c); got != tc.withErrors {
				t.Errorf("text with errors: got %d series, want %d", got, tc.withErrors)
			}
		})
	}
}

func textSeries(t *testing.T, c *Collector) int {
	t.Helper()
	var buf bytes.Buffer
	if err := c.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(buf.String(), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			n++
		}
	}
	return n
}

// nativeSeries counts as Prometheus does with native histograms enabled
// (and without always_scrape_classic_histograms).
func nativeSeries(t *testing.T, c *Collector) int {
	t.Helper()
	mfs, err := c.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			switch {
			case h == nil:
				n++
			case h.GetSchema() != 0 || len(h.GetPositiveSpan()) > 0 || h.GetZeroThreshold() > 0:
				n++ // native
			default:
				n += len(h.GetBucket()) + 3 // buckets, +Inf, _sum, _count
			}
		}
	}
	return n
}

// BenchmarkReplied is the collector's share of one probe's cost: counting a
// reply and its RTT, in each --metrics.rtt-histogram mode (classic skips
// the native buckets and their lock).
func BenchmarkReplied(b *testing.B) {
	for _, mode := range []string{"classic+native", "classic", "native"} {
		b.Run(mode, func(b *testing.B) {
			tg := newTarget("127.0.0.1", nil, time.Second, RTTModes[mode], time.Now())
			now := time.Now()
			i := 0
			for b.Loop() {
				// RTTs spread over 20 us .. 20 ms, like a mix of LAN and WAN hosts
				tg.Replied(time.Duration(20_000+(i*7919)%20_000_000), now)
				i++
			}
		})
	}
}
