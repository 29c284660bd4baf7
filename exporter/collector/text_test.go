package collector

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestWriteTextMatchesCollect parses WriteText's output and compares every
// series with what Collect gives through a pedantic registry.
func TestWriteTextMatchesCollect(t *testing.T) {
	for _, tc := range optionCases {
		for _, n := range []int{0, 1, 4} {
			t.Run(fmt.Sprint(tc.name, "/", n, " targets"), func(t *testing.T) {
				testWriteTextMatchesCollect(t, fixtureWith(n, tc.o))
			})
		}
	}
}

// optionCases are the series options, named like their flags.
var optionCases = []struct {
	name string
	o    Options
}{
	{"default", Options{}},
	{"classic", Options{RTT: RTTClassic}},
	{"native", Options{RTT: RTTNative}},
	{"native,omit-zero-errors", Options{RTT: RTTNative, OmitZeroErrors: true}},
	{"classic,omit-zero-errors", Options{RTT: RTTClassic, OmitZeroErrors: true}},
}

func testWriteTextMatchesCollect(t *testing.T, c *Collector) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	want, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	got, err := parser.TextToMetricFamilies(&buf)
	if err != nil {
		t.Fatalf("parse WriteText output: %v\n%s", err, buf.String())
	}
	if len(got) != len(want) {
		t.Fatalf("got %d families, want %d", len(got), len(want))
	}
	for _, wf := range want {
		gf := got[wf.GetName()]
		if gf == nil || gf.GetType() != wf.GetType() || gf.GetHelp() != wf.GetHelp() {
			t.Errorf("family %s: got %v, want type %v help %q", wf.GetName(), gf, wf.GetType(), wf.GetHelp())
			continue
		}
		gm, wm := byLabels(gf), byLabels(wf)
		if len(gm) != len(wm) {
			t.Errorf("%s: got %d series, want %d", wf.GetName(), len(gm), len(wm))
		}
		for k, w := range wm {
			if g := gm[k]; g == nil || !sameValue(g, w) {
				t.Errorf("%s{%s}: got %v, want %v", wf.GetName(), k, g, w)
			}
		}
	}
}

// TestWriteTextLabelOrder checks that ping_target_info's labels come out
// sorted, as client_golang writes them (tests and dashboards match lines).
func TestWriteTextLabelOrder(t *testing.T) {
	var buf bytes.Buffer
	if err := fixture(3).WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	want := `ping_target_info{aa="first",family="ip4",host_group="between family and ip",ip="127.0.0.2",l0="a \"quoted\" \\ value",l1="",parent="host-0.example.internal",target="host-2.example.internal"} 1` + "\n"
	if !strings.Contains(buf.String(), want) {
		t.Errorf("got\n%s\nwant a line %s", buf.String(), want)
	}
}

// fixture returns a collector of n targets in various states.
func fixture(n int) *Collector { return fixtureWith(n, Options{}) }

// fixtureWith is fixture with options o: target 0 has a resolve error, the
// others late replies and send errors.
func fixtureWith(n int, o Options) *Collector {
	clk := &clock{t: t0.Add(3 * time.Second)}
	c := NewWithOptions(clk.now, o)
	var ts []*Target
	for i := range n {
		labels := map[string]string{fmt.Sprint("l", i%2): `a "quoted" \ value`}
		if i == 2 {
			labels["aa"], labels["host_group"] = "first", "between family and ip"
		}
		tg := c.NewTarget(fmt.Sprintf("host-%d.example.internal", i), labels, time.Second)
		if i == 2 {
			tg.SetParent("host-0.example.internal")
		}
		if i > 0 {
			tg.SetAddr(netip.AddrFrom4([4]byte{127, 0, 0, byte(i)}))
			if i == 3 {
				tg.SetAddr(netip.MustParseAddr("::1"))
			}
			for k := range i * 3 {
				tg.Sent(t0)
				tg.Replied(time.Duration(k*k)*time.Millisecond+30*time.Microsecond, t0)
			}
			tg.Replied(10*time.Second, t0) // above every bucket
			tg.Late(2 * time.Second)
			tg.SendFailed(errors.New("x"))
		} else {
			tg.ResolveFailed()
		}
		ts = append(ts, tg)
	}
	c.SetTargets(ts)
	return c
}

// sameValue compares the values of a text-parsed and a gathered metric
// (classic histogram buckets only: the text format has no native ones).
func sameValue(g, w *dto.Metric) bool {
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
	switch {
	case w.Counter != nil:
		return g.Counter != nil && near(g.GetCounter().GetValue(), w.GetCounter().GetValue())
	case w.Gauge != nil:
		return g.Gauge != nil && near(g.GetGauge().GetValue(), w.GetGauge().GetValue())
	case w.Histogram != nil:
		gh, wh := g.GetHistogram(), w.GetHistogram()
		gb := gh.GetBucket()
		// The text format has an explicit +Inf bucket, the same as the count.
		if n := len(gb); n > 0 && math.IsInf(gb[n-1].GetUpperBound(), 1) {
			if gb[n-1].GetCumulativeCount() != gh.GetSampleCount() {
				return false
			}
			gb = gb[:n-1]
		}
		if gh == nil || gh.GetSampleCount() != wh.GetSampleCount() || !near(gh.GetSampleSum(), wh.GetSampleSum()) ||
			len(gb) != len(wh.GetBucket()) {
			return false
		}
		for i, b := range wh.GetBucket() {
			if gb[i].GetCumulativeCount() != b.GetCumulativeCount() || gb[i].GetUpperBound() != b.GetUpperBound() {
				return false
			}
		}
		return true
	}
	return false
}

// BenchmarkWriteText is a whole text scrape of 10,000 targets through the
// fast path.
func BenchmarkWriteText(b *testing.B) {
	c := benchTargets(10_000)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := c.WriteText(&buf); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(buf.Len()))
	}
}
