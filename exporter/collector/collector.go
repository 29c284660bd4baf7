// Package collector keeps per-target ping state and exposes it as Prometheus
// metrics.
//
// A Target is the prober's Observer for one configured host: probe events
// update atomic counters and an RTT histogram as they happen. The Collector
// reads them at scrape time; it is unchecked (Describe sends nothing) because
// its label names depend on the configured targets and change on reload.
package collector

import (
	"math"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// UpWindowIntervals is the up-window in probe intervals: ping_up is 1 when
// the last reply arrived at most UpWindowIntervals x interval ago. Five
// intervals ride out up to four lost probes in a row, so one lost packet
// never flips it, and an outage still shows within 5 s at the default 1 s.
const UpWindowIntervals = 5

// RTT histogram buckets: classic buckets 50us x 2^k up to 3.3 s, and native
// buckets with a growth factor of 1.1 (about 5% resolution).
var RTTBuckets = prometheus.ExponentialBuckets(50e-6, 2, 17)

// rttBounds is RTTBuckets as an array, for the per-target bucket counters.
var rttBounds = [17]float64(RTTBuckets)

// The options of the client_golang histogram the exporter used per target
// before its own native store (native.go), which writes the same buckets;
// native_test.go compares the two.
const (
	nativeBucketFactor = 1.1
	nativeMaxBuckets   = 100
)

// Target is the state of one configured target. It implements
// prober.Observer; its methods are safe for concurrent use.
type Target struct {
	name   string
	labels map[string]string

	interval  atomic.Int64 // nanoseconds, for the up-window
	requests  atomic.Uint64
	responses atomic.Uint64
	late      atomic.Uint64
	sendErrs  atomic.Uint64
	resolvErr atomic.Uint64
	lastReply atomic.Int64 // unix nanoseconds; 0 = never
	addr      atomic.Pointer[netip.Addr]
	parent    atomic.Pointer[string] // ping_target_info's "parent"; read by SetTargets
	// classic and rttSum feed both expositions; nat holds the native
	// buckets (nil in RTTClassic mode), and its lock covers classic and
	// rttSum too when it is there, so that a scrape sees one consistent
	// histogram. The text exposition (text.go) reads the atomics without
	// it and allocates nothing per scrape.
	mode    RTTMode
	nat     *native
	classic [len(rttBounds) + 1]atomic.Uint64 // per bucket, not cumulative; last: above every bound
	rttSum  atomic.Uint64                     // math.Float64bits of the sum of RTTs in seconds
}

// RTTMode chooses how ping_rtt_seconds is exposed (--metrics.rtt-histogram).
type RTTMode int

const (
	// RTTClassicAndNative exposes classic buckets (text and protobuf) and
	// native buckets (protobuf): any Prometheus can use it. The default.
	RTTClassicAndNative RTTMode = iota
	// RTTClassic exposes classic buckets only. The probe path then skips
	// the native buckets: the cheapest per probe.
	RTTClassic
	// RTTNative exposes native buckets only (protobuf); the text format
	// gets _sum and _count alone. For a Prometheus that ingests native
	// histograms: one series per target instead of twenty.
	RTTNative
)

// RTTModes are the names of the modes, as --metrics.rtt-histogram takes them.
var RTTModes = map[string]RTTMode{"classic+native": RTTClassicAndNative, "classic": RTTClassic, "native": RTTNative}

// NewTarget returns the state of a target named name (the "target" label)
// with its own labels, probed every interval, with classic and native RTT
// buckets. Collector.NewTarget follows the collector's options.
func NewTarget(name string, labels map[string]string, interval time.Duration) *Target {
	return newTarget(name, labels, interval, RTTClassicAndNative, time.Now())
}

// newTarget returns a target; created is the native histogram's created
// timestamp.
func newTarget(name string, labels map[string]string, interval time.Duration, mode RTTMode, created time.Time) *Target {
	t := &Target{name: name, labels: copyLabels(labels), mode: mode}
	if mode != RTTClassic {
		t.nat = newNative(created)
	}
	t.SetInterval(interval)
	return t
}

func copyLabels(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// Name is the target as configured.
func (t *Target) Name() string { return t.name }

// Labels returns a copy of the target's own labels.
func (t *Target) Labels() map[string]string { return copyLabels(t.labels) }

// SetInterval changes the probe interval (and with it the up-window).
func (t *Target) SetInterval(d time.Duration) { t.interval.Store(int64(d)) }

// SetAddr records the address being probed; the zero Addr means none (the
// name did not resolve).
func (t *Target) SetAddr(a netip.Addr) { t.addr.Store(&a) }

// SetParent sets the target's parent (the "parent" label of
// ping_target_info); it shows from the next SetTargets.
func (t *Target) SetParent(p string) { t.parent.Store(&p) }

// Parent returns the target's parent, or "".
func (t *Target) Parent() string {
	if p := t.parent.Load(); p != nil {
		return *p
	}
	return ""
}

// Addr returns the address being probed, or the zero Addr.
func (t *Target) Addr() netip.Addr {
	if p := t.addr.Load(); p != nil {
		return *p
	}
	return netip.Addr{}
}

// LastReply returns when the last reply arrived, or the zero Time.
func (t *Target) LastReply() time.Time {
	if ns := t.lastReply.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// UpWindow is UpWindowIntervals x the probe interval.
func (t *Target) UpWindow() time.Duration {
	return UpWindowIntervals * time.Duration(t.interval.Load())
}

// Up reports whether a reply arrived within the up-window before now.
func (t *Target) Up(now time.Time) bool {
	ns := t.lastReply.Load()
	return ns != 0 && now.UnixNano()-ns <= int64(t.UpWindow())
}

// Sent counts an echo request.
func (t *Target) Sent(time.Time) { t.requests.Add(1) }

// Replied counts a reply received within the timeout.
func (t *Target) Replied(rtt time.Duration, at time.Time) {
	t.responses.Add(1)
	t.lastReply.Store(at.UnixNano())
	t.observe(rtt.Seconds())
}

// observe counts an RTT of secs seconds in the histogram.
func (t *Target) observe(secs float64) {
	if n := t.nat; n != nil {
		n.mu.Lock()
		n.observe(secs)
		t.observeClassic(secs)
		n.mu.Unlock()
		return
	}
	t.observeClassic(secs)
}

// observeClassic counts secs in the classic buckets and the sum.
func (t *Target) observeClassic(secs float64) {
	t.classic[sort.SearchFloat64s(rttBounds[:], secs)].Add(1)
	for {
		old := t.rttSum.Load()
		if t.rttSum.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+secs)) {
			return
		}
	}
}

// Late counts a reply that came after the timeout. It is not a response
// (the probe was already lost) and not in the histogram.
func (t *Target) Late(time.Duration) { t.late.Add(1) }

// Lost needs no counter: losses are requests minus responses.
func (t *Target) Lost() {}

// SendFailed counts an echo request the kernel refused.
func (t *Target) SendFailed(error) { t.sendErrs.Add(1) }

// ResolveFailed counts a failed name resolution.
func (t *Target) ResolveFailed() { t.resolvErr.Add(1) }

// Collector exposes the metrics of a set of targets.
type Collector struct {
	now  func() time.Time
	opts Options

	mu    sync.RWMutex
	set   []entry
	descs descs // for the label union of set
}

type entry struct {
	t      *Target
	labels []*dto.LabelPair // "target" + the union, sorted by name
	text   string           // the same in text format: a="x",target="y"
	// infoLabels are labels plus "parent" when any target has one: the
	// static labels of ping_target_info, before "ip" and "family".
	infoLabels []*dto.LabelPair
	info       [3]string // infoLabels in text, split where family and ip go
}

// Options shape the series of a Collector (the --metrics.* flags); the
// zero value is every series, classic and native RTT buckets.
type Options struct {
	// RTT is how ping_rtt_seconds is exposed, for targets made by
	// Collector.NewTarget.
	RTT RTTMode
	// OmitZeroErrors leaves out ping_late_responses_total,
	// ping_send_errors_total and ping_resolve_errors_total of a target
	// while they are 0 (almost always): 3 series per target fewer.
	OmitZeroErrors bool
}

// New returns a Collector with no targets and every series. now is the
// clock for ping_up; nil means time.Now.
func New(now func() time.Time) *Collector { return NewWithOptions(now, Options{}) }

// NewWithOptions returns a Collector with no targets whose series follow o.
func NewWithOptions(now func() time.Time, o Options) *Collector {
	if now == nil {
		now = time.Now
	}
	c := &Collector{now: now, opts: o}
	c.descs = newDescs(nil, false)
	return c
}

// NewTarget returns a target whose RTT histogram follows c's options.
func (c *Collector) NewTarget(name string, labels map[string]string, interval time.Duration) *Target {
	return newTarget(name, labels, interval, c.opts.RTT, c.now())
}

// omit reports whether family fam of t is left out: an error counter at 0
// with OmitZeroErrors.
func (c *Collector) omit(fam int, t *Target) bool {
	if !c.opts.OmitZeroErrors {
		return false
	}
	switch fam {
	case famLate, famSendErrs, famResolveErrs:
		return counterOf(t, fam) == 0
	}
	return false
}

// empty reports whether family fam has no series in set: then it is left
// out entirely, header included.
func (c *Collector) empty(fam int, set []entry) bool {
	switch fam {
	case famLastReply:
		return !anyReply(set)
	case famLate, famSendErrs, famResolveErrs:
		if !c.opts.OmitZeroErrors {
			return false
		}
		for i := range set {
			if counterOf(set[i].t, fam) != 0 {
				return false
			}
		}
		return true
	}
	return false
}

// SetTargets replaces the set of targets. Series of targets not in ts vanish
// at the next scrape.
func (c *Collector) SetTargets(ts []*Target) {
	union := map[string]bool{}
	anyParent := false
	for _, t := range ts {
		for k := range t.labels {
			union[k] = true
		}
		anyParent = anyParent || t.Parent() != ""
	}
	names := make([]string, 0, len(union))
	for k := range union {
		names = append(names, k)
	}
	sort.Strings(names)
	set := make([]entry, len(ts))
	for i, t := range ts {
		set[i] = entry{t: t, labels: labelPairs(t, names)}
		pieces := textPieces(set[i].labels)
		set[i].text = strings.Join(pieces, ",")
		set[i].infoLabels = set[i].labels
		if anyParent {
			set[i].infoLabels = withLabel(set[i].labels, "parent", t.Parent())
		}
		set[i].info = infoParts(set[i].infoLabels, textPieces(set[i].infoLabels))
	}
	slices.SortFunc(set, func(a, b entry) int { return strings.Compare(a.t.name, b.t.name) })
	c.mu.Lock()
	c.set, c.descs = set, newDescs(names, anyParent)
	c.mu.Unlock()
}

// labelPairs builds the label pairs of t: "target" and every name of the
// union, empty where t lacks it, sorted by name as client_golang expects.
func labelPairs(t *Target, names []string) []*dto.LabelPair {
	all := append([]string{"target"}, names...)
	sort.Strings(all)
	lp := make([]*dto.LabelPair, len(all))
	for i, n := range all {
		v := t.labels[n]
		if n == "target" {
			v = t.name
		}
		lp[i] = &dto.LabelPair{Name: proto.String(n), Value: proto.String(v)}
	}
	return lp
}

// Describe sends nothing: the collector is unchecked.
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// Collect sends every target's metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	set, d := c.set, c.descs
	c.mu.RUnlock()
	now := c.now()
	for i := range set {
		e := &set[i]
		t := e.t
		up := 0.0
		if t.Up(now) {
			up = 1
		}
		ch <- &metric{d[famUp], e.labels, dto.MetricType_GAUGE, up}
		ch <- &metric{d[famRequests], e.labels, dto.MetricType_COUNTER, float64(t.requests.Load())}
		ch <- &metric{d[famResponses], e.labels, dto.MetricType_COUNTER, float64(t.responses.Load())}
		for _, fam := range [...]int{famLate, famSendErrs, famResolveErrs} {
			if !c.omit(fam, t) {
				ch <- &metric{d[fam], e.labels, dto.MetricType_COUNTER, float64(counterOf(t, fam))}
			}
		}
		if last := t.lastReply.Load(); last != 0 {
			ch <- &metric{d[famLastReply], e.labels, dto.MetricType_GAUGE, float64(last) / 1e9}
		}
		ch <- &histogram{d[famRTT], e.labels, t}
		ch <- &metric{d[famInfo], infoLabels(e.infoLabels, t.Addr()), dto.MetricType_GAUGE, 1}
	}
}

// withLabel returns a sorted copy of labels with name=value added.
func withLabel(labels []*dto.LabelPair, name, value string) []*dto.LabelPair {
	lp := make([]*dto.LabelPair, 0, len(labels)+1)
	lp = append(lp, labels...)
	lp = append(lp, &dto.LabelPair{Name: proto.String(name), Value: proto.String(value)})
	slices.SortFunc(lp, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
	return lp
}

// infoLabels adds "ip" and "family" to labels, keeping them sorted.
func infoLabels(labels []*dto.LabelPair, a netip.Addr) []*dto.LabelPair {
	ip, family := "", ""
	if a.IsValid() {
		ip, family = a.String(), "ip6"
		if a.Is4() {
			family = "ip4"
		}
	}
	lp := make([]*dto.LabelPair, 0, len(labels)+2)
	lp = append(lp, labels...)
	lp = append(lp,
		&dto.LabelPair{Name: proto.String("family"), Value: proto.String(family)},
		&dto.LabelPair{Name: proto.String("ip"), Value: proto.String(ip)})
	slices.SortFunc(lp, func(a, b *dto.LabelPair) int {
		switch {
		case a.GetName() < b.GetName():
			return -1
		case a.GetName() > b.GetName():
			return 1
		}
		return 0
	})
	return lp
}

// Metric families, in the order Gather returns them (sorted by name).
const (
	famLastReply = iota
	famLate
	famRequests
	famResolveErrs
	famResponses
	famRTT
	famSendErrs
	famInfo
	famUp
	numFamilies
)

var families = [numFamilies]struct {
	name, help string
	typ        dto.MetricType
}{
	famLastReply:   {"ping_last_response_timestamp_seconds", "Unix time of the last echo reply received within the timeout.", dto.MetricType_GAUGE},
	famLate:        {"ping_late_responses_total", "Echo replies received after the timeout (counted as lost).", dto.MetricType_COUNTER},
	famRequests:    {"ping_requests_total", "Echo requests sent.", dto.MetricType_COUNTER},
	famResolveErrs: {"ping_resolve_errors_total", "Failed resolutions of the target's name.", dto.MetricType_COUNTER},
	famResponses:   {"ping_responses_total", "Echo replies received within the timeout.", dto.MetricType_COUNTER},
	famRTT:         {"ping_rtt_seconds", "Round-trip time of echo replies received within the timeout.", dto.MetricType_HISTOGRAM},
	famSendErrs:    {"ping_send_errors_total", "Echo requests the kernel refused to send.", dto.MetricType_COUNTER},
	famInfo:        {"ping_target_info", "Address being probed for the target (ip and family empty while the name does not resolve) and its parent (present when any target has one, empty for none).", dto.MetricType_GAUGE},
	famUp:          {"ping_up", "1 if the target replied within the last 5 probe intervals (the up-window), else 0.", dto.MetricType_GAUGE},
}

// descs holds one Desc per metric family for the current label union.
type descs [numFamilies]*prometheus.Desc

func newDescs(names []string, parent bool) descs {
	var d descs
	for i, f := range families {
		l := append([]string{"target"}, names...)
		if i == famInfo {
			l = append(l, "ip", "family")
			if parent {
				l = append(l, "parent")
			}
		}
		d[i] = prometheus.NewDesc(f.name, f.help, l, nil)
	}
	return d
}

// metric is a counter or gauge with precomputed label pairs: cheaper than
// prometheus.MustNewConstMetric, which builds and sorts them on every call.
type metric struct {
	desc   *prometheus.Desc
	labels []*dto.LabelPair
	typ    dto.MetricType
	value  float64
}

func (m *metric) Desc() *prometheus.Desc { return m.desc }

func (m *metric) Write(out *dto.Metric) error {
	out.Label = m.labels
	if m.typ == dto.MetricType_COUNTER {
		out.Counter = &dto.Counter{Value: proto.Float64(m.value)}
	} else {
		out.Gauge = &dto.Gauge{Value: proto.Float64(m.value)}
	}
	return nil
}

// histogram writes a target's histogram with the target's label pairs.
type histogram struct {
	desc   *prometheus.Desc
	labels []*dto.LabelPair
	t      *Target
}

func (m *histogram) Desc() *prometheus.Desc { return m.desc }

func (m *histogram) Write(out *dto.Metric) error {
	if err := m.t.writeRTT(out); err != nil {
		return err
	}
	out.Label = m.labels
	return nil
}

// writeRTT writes the RTT histogram into out from the target's counters:
// the classic buckets (not in RTTNative), the native buckets and created
// timestamp (not in RTTClassic), count and sum. It is the message
// client_golang's histogram would write for the same observations with
// the options the exporter used before its own store (native.go,
// native_test.go), except that the native resolution is never reduced.
func (t *Target) writeRTT(out *dto.Metric) error {
	if n := t.nat; n != nil {
		n.mu.Lock()
		defer n.mu.Unlock()
	}
	var cum uint64
	var bp []*dto.Bucket
	if t.mode != RTTNative {
		b := make([]dto.Bucket, len(rttBounds))
		bp = make([]*dto.Bucket, len(rttBounds))
		for i := range rttBounds {
			cum += t.classic[i].Load()
			b[i] = dto.Bucket{CumulativeCount: proto.Uint64(cum), UpperBound: proto.Float64(rttBounds[i])}
			bp[i] = &b[i]
		}
		cum += t.classic[len(rttBounds)].Load()
	} else {
		for i := range t.classic {
			cum += t.classic[i].Load()
		}
	}
	out.Histogram = &dto.Histogram{
		SampleCount: proto.Uint64(cum),
		SampleSum:   proto.Float64(math.Float64frombits(t.rttSum.Load())),
		Bucket:      bp,
	}
	if t.nat != nil {
		t.nat.write(out.Histogram)
	}
	return nil
}
