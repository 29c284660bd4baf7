package collector

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// clientGolangRTT is the histogram the exporter used per target before its
// own store, with the same options: the reference the store must match.
func clientGolangRTT(mode RTTMode) prometheus.Histogram {
	opts := prometheus.HistogramOpts{
		Name:                            "ping_rtt_seconds",
		Help:                            "Round-trip time of echo replies received within the timeout.",
		NativeHistogramBucketFactor:     nativeBucketFactor,
		NativeHistogramMaxBucketNumber:  nativeMaxBuckets,
		NativeHistogramMinResetDuration: time.Hour,
	}
	if mode == RTTClassicAndNative {
		opts.Buckets = RTTBuckets
	}
	return prometheus.NewHistogram(opts)
}

// boundary is the upper bound of schema-3 bucket k: 2^(k/8), computed
// independently of nativeBounds.
func boundary(k int) float64 { return math.Exp2(float64(k) / 8) }

// TestNativeMatchesClientGolang feeds the same RTTs to client_golang's
// histogram (today's options) and to a target's own store, in each mode
// with native buckets, scraping half-way and at the end, and compares the
// messages field by field and as encoded bytes.
func TestNativeMatchesClientGolang(t *testing.T) {
	var (
		many    []float64 // 100 distinct buckets: client_golang's limit, not over it
		gaps    []float64 // gaps of 0, 1, 2, 3 and 10 empty buckets between populated ones
		bounds  []float64 // exactly on bucket boundaries, and the next float up
		classic []float64 // exactly on the classic bounds
		rnd     []float64
	)
	for k := -120; k < -20; k++ { // 2^-15 s (30 us) .. 2^-2.5 s (177 ms)
		many = append(many, boundary(k)*0.97)
	}
	for _, k := range []int{-100, -99, -97, -94, -90, -79} {
		gaps = append(gaps, boundary(k)*0.99, boundary(k)*0.99)
	}
	for k := -112; k <= 8; k += 3 {
		bounds = append(bounds, boundary(k), math.Nextafter(boundary(k), 1), math.Nextafter(boundary(k), 0))
	}
	for _, b := range rttBounds {
		classic = append(classic, b, math.Nextafter(b, 1))
	}
	var within16 []float64
	for _, k := range []int{-100, -95, -102, -98, -104, -97, -101, -104, -92} {
		within16 = append(within16, boundary(k)*0.99)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		// A host around 20 ms, jittered over a factor of 2, sometimes
		// far off: the usual shape.
		v := 0.02 * math.Exp2(r.Float64()-0.5)
		if r.IntN(50) == 0 {
			v = 1e-5 * math.Exp2(10*r.Float64())
		}
		rnd = append(rnd, v)
	}
	durations := func(ds ...time.Duration) []float64 {
		var s []float64
		for _, d := range ds {
			s = append(s, d.Seconds())
		}
		return s
	}
	reversed := func(v []float64) []float64 {
		out := make([]float64, len(v))
		for i := range v {
			out[len(v)-1-i] = v[i]
		}
		return out
	}
	cases := []struct {
		name string
		secs []float64
	}{
		{"no observation", nil},
		{"zero", durations(0, 0, time.Millisecond)},
		{"1 ns, the smallest RTT", durations(1, 1, 2, 3)},
		{"tiny and huge", durations(1, time.Duration(math.MaxInt64))},
		{"power-of-two durations on bucket boundaries", durations(time.Second, 2*time.Second, 500*time.Millisecond,
			250*time.Millisecond, 125*time.Millisecond, 62500*time.Microsecond, 1953125)},
		{"float bucket boundaries", bounds},
		{"classic bounds", classic},
		{"above the largest expected", durations(10*time.Second, time.Minute, time.Hour, 24*time.Hour)},
		{"one bucket, many times", durations(20*time.Millisecond, 20*time.Millisecond, 20*time.Millisecond)},
		{"gaps", gaps},
		{"gaps, descending", reversed(gaps)},
		{"100 distinct buckets", many},
		{"100 distinct buckets, descending", reversed(many)},
		{"negative (never from the prober)", []float64{-1e-3, -2e-3, 1e-3, 0}},
		{"random, 20 ms host", rnd},
		{"up and down within the first 16 buckets", within16},
		{"down past the first 16 buckets", reversed(many[:30])},
	}
	for _, mode := range []RTTMode{RTTClassicAndNative, RTTNative} {
		for _, tc := range cases {
			t.Run(modeName(mode)+"/"+tc.name, func(t *testing.T) {
				before := time.Now()
				ref := clientGolangRTT(mode)
				after := time.Now()
				created := time.Unix(1_700_000_000, 123_456_789)
				tg := newTarget("h", nil, time.Second, mode, created)
				cl := newTarget("h", nil, time.Second, RTTClassic, created)
				half := len(tc.secs) / 2
				for i, v := range tc.secs {
					ref.Observe(v)
					tg.observe(v)
					cl.observe(v)
					if i == half {
						compareRTT(t, ref, tg, before, after, created)
					}
				}
				compareRTT(t, ref, tg, before, after, created)
				checkDirect(t, cl)
			})
		}
	}
}

// writeBoth returns the metrics written by ref and by tg.
func writeBoth(t *testing.T, ref prometheus.Histogram, tg *Target) (want, got *dto.Metric) {
	t.Helper()
	want, got = &dto.Metric{}, &dto.Metric{}
	if err := ref.Write(want); err != nil {
		t.Fatal(err)
	}
	if err := tg.writeRTT(got); err != nil {
		t.Fatal(err)
	}
	return want, got
}

// compareRTT compares the histograms written by ref and tg: created
// timestamps each against their own clock, every other field equal.
func compareRTT(t *testing.T, ref prometheus.Histogram, tg *Target, before, after, created time.Time) {
	t.Helper()
	want, got := writeBoth(t, ref, tg)
	w, g := want.GetHistogram(), got.GetHistogram()
	checkDirect(t, tg)
	if ct := w.GetCreatedTimestamp().AsTime(); ct.Before(before.Truncate(time.Microsecond)) || ct.After(after) {
		t.Fatalf("client_golang's created timestamp %v not between %v and %v: the reference changed", ct, before, after)
	}
	if ct := g.GetCreatedTimestamp().AsTime(); !ct.Equal(created) {
		t.Errorf("created timestamp %v, want the target's creation %v", ct, created)
	}
	g.CreatedTimestamp = timestamppb.New(w.GetCreatedTimestamp().AsTime())
	want.Label = nil
	if g.GetSchema() != w.GetSchema() {
		t.Errorf("schema %d, want %d", g.GetSchema(), w.GetSchema())
	}
	if g.GetZeroThreshold() != w.GetZeroThreshold() {
		t.Errorf("zero threshold %g, want %g", g.GetZeroThreshold(), w.GetZeroThreshold())
	}
	if g.GetZeroCount() != w.GetZeroCount() {
		t.Errorf("zero count %d, want %d", g.GetZeroCount(), w.GetZeroCount())
	}
	if g.GetSampleCount() != w.GetSampleCount() {
		t.Errorf("count %d, want %d", g.GetSampleCount(), w.GetSampleCount())
	}
	if math.Float64bits(g.GetSampleSum()) != math.Float64bits(w.GetSampleSum()) {
		t.Errorf("sum %v, want %v", g.GetSampleSum(), w.GetSampleSum())
	}
	for _, side := range []struct {
		name       string
		gs, ws     []*dto.BucketSpan
		gd, wd     []int64
		gotN, refN int
	}{
		{"positive", g.GetPositiveSpan(), w.GetPositiveSpan(), g.GetPositiveDelta(), w.GetPositiveDelta(), 0, 0},
		{"negative", g.GetNegativeSpan(), w.GetNegativeSpan(), g.GetNegativeDelta(), w.GetNegativeDelta(), 0, 0},
	} {
		if fmt.Sprint(spanPairs(side.gs)) != fmt.Sprint(spanPairs(side.ws)) {
			t.Errorf("%s spans %v, want %v", side.name, spanPairs(side.gs), spanPairs(side.ws))
		}
		if fmt.Sprint(side.gd) != fmt.Sprint(side.wd) {
			t.Errorf("%s deltas %v, want %v", side.name, side.gd, side.wd)
		}
	}
	if len(g.GetBucket()) != len(w.GetBucket()) {
		t.Errorf("%d classic buckets, want %d", len(g.GetBucket()), len(w.GetBucket()))
	} else {
		for i := range w.GetBucket() {
			if !proto.Equal(g.GetBucket()[i], w.GetBucket()[i]) {
				t.Errorf("classic bucket %d: %v, want %v", i, g.GetBucket()[i], w.GetBucket()[i])
			}
		}
	}
	if !proto.Equal(got, want) {
		t.Errorf("messages differ:\ngot  %v\nwant %v", got, want)
	}
	mo := proto.MarshalOptions{Deterministic: true}
	gb, err := mo.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	wb, err := mo.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	if string(gb) != string(wb) {
		t.Errorf("encoded histograms differ:\ngot  %x\nwant %x", gb, wb)
	}
}

func modeName(m RTTMode) string {
	for name, mm := range RTTModes {
		if mm == m {
			return name
		}
	}
	return fmt.Sprint(int(m))
}

// checkDirect checks that WriteProto's histogram encoding is the bytes of
// proto.Marshal of the message writeRTT builds.
func checkDirect(t *testing.T, tg *Target) {
	t.Helper()
	var m dto.Metric
	if err := tg.writeRTT(&m); err != nil {
		t.Fatal(err)
	}
	want, err := proto.MarshalOptions{Deterministic: true}.Marshal(m.GetHistogram())
	if err != nil {
		t.Fatal(err)
	}
	var pw protoWriter
	if got := pw.appendRTT(nil, tg); !bytes.Equal(got, want) {
		t.Errorf("mode %s: WriteProto's histogram\n%x\nwant proto.Marshal's\n%x", modeName(tg.mode), got, want)
	}
}

func spanPairs(s []*dto.BucketSpan) [][2]int64 {
	var p [][2]int64
	for _, x := range s {
		p = append(p, [2]int64{int64(x.GetOffset()), int64(x.GetLength())})
	}
	return p
}

// TestNativeOverBucketLimit documents where the store departs from
// client_golang: with more than nativeMaxBuckets (100) populated buckets,
// client_golang halves the resolution (schema 3 -> 2 -> ...) and resets
// the whole histogram an hour after its last reset; the store keeps schema
// 3 and every bucket (at most 505: RTTs are time.Durations), and never
// resets. Count, sum and classic buckets still agree.
// TestNativeCountersAllocatedWithTarget: RTTs within a factor of 4 allocate
// nothing after the target itself (nativeBuckets), up or down.
func TestNativeCountersAllocatedWithTarget(t *testing.T) {
	created := time.Unix(1_700_000_000, 0)
	var keys []float64
	for _, k := range []int{-100, -95, -102, -98, -104, -97, -101, -104, -92} { // keys -106 .. -92 with the slack
		keys = append(keys, boundary(k)*0.99)
	}
	allocs := func(secs []float64) float64 {
		return testing.AllocsPerRun(20, func() {
			tg := newTarget("h", nil, time.Second, RTTNative, created)
			for _, v := range secs {
				tg.observe(v)
			}
		})
	}
	if empty, observed := allocs(nil), allocs(keys); observed != empty {
		t.Errorf("allocations: %v for a target with %d RTTs within a factor of 4, want %v as for a target with none", observed, len(keys), empty)
	}
	if empty, observed := allocs(nil), allocs([]float64{boundary(-100), boundary(-80)}); observed == empty {
		t.Errorf("allocations: %v for RTTs a factor of 5.6 apart, want more than %v (the test would not see a reallocation)", observed, empty)
	}
}

func TestNativeOverBucketLimit(t *testing.T) {
	ref := clientGolangRTT(RTTClassicAndNative)
	tg := newTarget("h", nil, time.Second, RTTClassicAndNative, time.Unix(1, 0))
	const n = 150
	for k := -140; k < -140+n; k++ {
		v := boundary(k) * 0.97
		ref.Observe(v)
		tg.observe(v)
	}
	want, got := writeBoth(t, ref, tg)
	w, g := want.GetHistogram(), got.GetHistogram()
	if w.GetSchema() >= nativeSchema {
		t.Errorf("client_golang kept schema %d over its bucket limit: the documented difference is gone", w.GetSchema())
	}
	if g.GetSchema() != nativeSchema {
		t.Errorf("schema %d, want %d (never reduced)", g.GetSchema(), nativeSchema)
	}
	buckets := 0
	for _, s := range g.GetPositiveSpan() {
		buckets += int(s.GetLength())
	}
	if buckets != n {
		t.Errorf("%d native buckets, want %d", buckets, n)
	}
	if g.GetSampleCount() != w.GetSampleCount() || g.GetSampleSum() != w.GetSampleSum() {
		t.Errorf("count %d sum %v, want %d %v", g.GetSampleCount(), g.GetSampleSum(), w.GetSampleCount(), w.GetSampleSum())
	}
	for i := range w.GetBucket() {
		if !proto.Equal(g.GetBucket()[i], w.GetBucket()[i]) {
			t.Errorf("classic bucket %d: %v, want %v", i, g.GetBucket()[i], w.GetBucket()[i])
		}
	}
}

// TestNativeConsistentUnderLoad scrapes while replies are counted: every
// scrape must see one histogram (count = zero bucket + native buckets =
// the classic +Inf count), which the store's lock guarantees.
func TestNativeConsistentUnderLoad(t *testing.T) {
	for _, mode := range []RTTMode{RTTClassicAndNative, RTTNative} {
		tg := newTarget("h", nil, time.Second, mode, time.Unix(1, 0))
		const writers, each = 4, 5000
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					tg.Replied(time.Duration(1+(w*each+i)*7919%50_000_000), time.Now())
				}
			})
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		check := func() uint64 {
			var m dto.Metric
			if err := tg.writeRTT(&m); err != nil {
				t.Fatal(err)
			}
			h := m.GetHistogram()
			var sum int64
			var c int64
			for _, d := range h.GetPositiveDelta() {
				c += d
				sum += c
			}
			if uint64(sum)+h.GetZeroCount() != h.GetSampleCount() {
				t.Fatalf("mode %d: native buckets hold %d + zero %d, count %d", mode, sum, h.GetZeroCount(), h.GetSampleCount())
			}
			if b := h.GetBucket(); len(b) > 0 && b[len(b)-1].GetCumulativeCount() > h.GetSampleCount() {
				t.Fatalf("mode %d: classic buckets hold %d, count %d", mode, b[len(b)-1].GetCumulativeCount(), h.GetSampleCount())
			}
			return h.GetSampleCount()
		}
		for running := true; running; {
			select {
			case <-done:
				running = false
			default:
				check()
			}
		}
		if n := check(); n != writers*each {
			t.Errorf("mode %d: count %d, want %d", mode, n, writers*each)
		}
	}
}

// BenchmarkTargetMemory is the live heap per target: 100,000 targets, each
// with 64 replies around its own RTT (jittered over a factor of 2, about 8
// native buckets) and one scrape, measured with runtime.MemStats after a
// GC. "client_golang" is the store before this one: a classic-only target
// plus client_golang's histogram with the old options, as each target held.
//
//	go test -run '^$' -bench TargetMemory -benchtime 1x ./exporter/collector
func BenchmarkTargetMemory(b *testing.B) {
	const n = 100_000
	for _, tc := range []struct {
		name   string
		mode   RTTMode
		client bool
	}{
		{"classic+native", RTTClassicAndNative, false},
		{"native", RTTNative, false},
		{"classic", RTTClassic, false},
		{"client_golang/classic+native", RTTClassicAndNative, true},
		{"client_golang/native", RTTNative, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var perTarget float64
			for b.Loop() {
				var ms runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&ms)
				base := ms.HeapAlloc
				ts := make([]*Target, n)
				hs := make([]prometheus.Histogram, n)
				now := time.Now()
				r := rand.New(rand.NewPCG(3, 4))
				var m dto.Metric
				for i := range ts {
					mode := tc.mode
					if tc.client {
						mode = RTTClassic
						hs[i] = clientGolangRTT(tc.mode)
					}
					ts[i] = newTarget(fmt.Sprintf("127.1.%d.%d", i/256, i%256), nil, time.Second, mode, now)
					rtt := 1e-4 * math.Exp2(8*r.Float64())
					for range 64 {
						v := rtt * math.Exp2(r.Float64())
						ts[i].Replied(time.Duration(v*1e9), now)
						if hs[i] != nil {
							hs[i].Observe(v)
						}
					}
					if hs[i] != nil {
						_ = hs[i].Write(&m)
					} else {
						_ = ts[i].writeRTT(&m)
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&ms)
				perTarget = float64(ms.HeapAlloc-base) / n
				runtime.KeepAlive(ts)
				runtime.KeepAlive(hs)
			}
			b.ReportMetric(perTarget, "bytes/target")
		})
	}
}
