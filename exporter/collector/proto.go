package collector

import (
	"encoding/binary"
	"io"
	"math"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of io.prometheus.client's MetricFamily, Metric, LabelPair
// and Counter/Gauge messages (client_model metrics.proto).
const (
	pbFamilyName   = 1
	pbFamilyHelp   = 2
	pbFamilyType   = 3
	pbFamilyMetric = 4

	pbMetricLabel     = 1
	pbMetricGauge     = 2
	pbMetricCounter   = 3
	pbMetricHistogram = 7

	pbLabelName  = 1
	pbLabelValue = 2

	pbValue = 1 // Counter.value and Gauge.value

	// Histogram, Bucket, BucketSpan and google.protobuf.Timestamp.
	pbHistCount         = 1
	pbHistSum           = 2
	pbHistBucket        = 3
	pbHistSchema        = 5
	pbHistZeroThreshold = 6
	pbHistZeroCount     = 7
	pbHistNegSpan       = 9
	pbHistNegDelta      = 10
	pbHistPosSpan       = 12
	pbHistPosDelta      = 13
	pbHistCreated       = 15
	pbBucketCount       = 1
	pbBucketBound       = 2
	pbSpanOffset        = 1
	pbSpanLength        = 2
	pbTimeSeconds       = 1
	pbTimeNanos         = 2
)

// WriteProto writes the targets' metric families in the delimited protobuf
// format, the same messages as Gather (classic and native RTT buckets).
// Gather plus proto.Marshal cost about 2.5 times a text scrape and 50
// allocations per target (BENCHMARKS.md); this encodes every message,
// histograms included, straight from the targets' counters.
func (c *Collector) WriteProto(w io.Writer) error {
	c.mu.RLock()
	set := c.set
	c.mu.RUnlock()
	if len(set) == 0 {
		return nil
	}
	now := c.now()
	pw := &protoWriter{w: w}
	for fam := range numFamilies {
		if c.empty(fam, set) {
			continue
		}
		f := families[fam]
		pw.fam = pw.fam[:0]
		pw.fam = protowire.AppendTag(pw.fam, pbFamilyName, protowire.BytesType)
		pw.fam = protowire.AppendString(pw.fam, f.name)
		pw.fam = protowire.AppendTag(pw.fam, pbFamilyHelp, protowire.BytesType)
		pw.fam = protowire.AppendString(pw.fam, f.help)
		pw.fam = protowire.AppendTag(pw.fam, pbFamilyType, protowire.VarintType)
		pw.fam = protowire.AppendVarint(pw.fam, uint64(f.typ))
		for i := range set {
			if c.omit(fam, set[i].t) {
				continue
			}
			pw.series(fam, &set[i], now)
		}
		pw.out = protowire.AppendVarint(pw.out[:0], uint64(len(pw.fam)))
		if _, err := w.Write(pw.out); err != nil {
			return err
		}
		if _, err := w.Write(pw.fam); err != nil {
			return err
		}
	}
	return nil
}

// protoWriter encodes one family at a time into fam (reused), each Metric
// into m first (its length goes before it).
type protoWriter struct {
	w         io.Writer
	fam       []byte
	m, out, h []byte
	spans     []span // native buckets, reused
	deltas    []int64
}

// series appends the Metric of family fam for one target.
func (pw *protoWriter) series(fam int, e *entry, now time.Time) {
	t := e.t
	m := pw.m[:0]
	switch fam {
	case famLastReply:
		last := t.lastReply.Load()
		if last == 0 {
			return
		}
		m = appendLabels(m, e.labels)
		m = appendValue(m, pbMetricGauge, float64(last)/1e9)
	case famLate, famRequests, famResolveErrs, famResponses, famSendErrs:
		m = appendLabels(m, e.labels)
		m = appendValue(m, pbMetricCounter, float64(counterOf(t, fam)))
	case famUp:
		up := 0.0
		if t.Up(now) {
			up = 1
		}
		m = appendLabels(m, e.labels)
		m = appendValue(m, pbMetricGauge, up)
	case famInfo:
		m = appendLabels(m, infoLabels(e.labels, t.Addr()))
		m = appendValue(m, pbMetricGauge, 1)
	case famRTT:
		m = appendLabels(m, e.labels)
		pw.h = pw.appendRTT(pw.h[:0], t)
		m = protowire.AppendTag(m, pbMetricHistogram, protowire.BytesType)
		m = protowire.AppendBytes(m, pw.h)
	}
	pw.m = m
	pw.fam = protowire.AppendTag(pw.fam, pbFamilyMetric, protowire.BytesType)
	pw.fam = protowire.AppendBytes(pw.fam, m)
}

// appendRTT appends t's RTT Histogram message (its fields, in field
// order, as proto.Marshal writes the message of writeRTT) to b.
func (pw *protoWriter) appendRTT(b []byte, t *Target) []byte {
	n := t.nat
	if n != nil {
		n.mu.Lock()
		defer n.mu.Unlock()
	}
	var classic [len(rttBounds) + 1]uint64
	var count uint64
	for i := range t.classic {
		classic[i] = t.classic[i].Load()
		count += classic[i]
	}
	b = protowire.AppendTag(b, pbHistCount, protowire.VarintType)
	b = protowire.AppendVarint(b, count)
	b = protowire.AppendTag(b, pbHistSum, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, t.rttSum.Load())
	if t.mode != RTTNative {
		var cum uint64
		for i, bound := range rttBounds {
			cum += classic[i]
			b = protowire.AppendTag(b, pbHistBucket, protowire.BytesType)
			b = protowire.AppendVarint(b, uint64(protowire.SizeTag(pbBucketCount)+protowire.SizeVarint(cum)+
				protowire.SizeTag(pbBucketBound)+protowire.SizeFixed64()))
			b = protowire.AppendTag(b, pbBucketCount, protowire.VarintType)
			b = protowire.AppendVarint(b, cum)
			b = protowire.AppendTag(b, pbBucketBound, protowire.Fixed64Type)
			b = protowire.AppendFixed64(b, math.Float64bits(bound))
		}
	}
	if n == nil {
		return b
	}
	b = protowire.AppendTag(b, pbHistSchema, protowire.VarintType)
	b = protowire.AppendVarint(b, protowire.EncodeZigZag(nativeSchema))
	b = protowire.AppendTag(b, pbHistZeroThreshold, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, math.Float64bits(nativeZeroThreshold))
	b = protowire.AppendTag(b, pbHistZeroCount, protowire.VarintType)
	b = protowire.AppendVarint(b, n.zero)
	if n.neg != nil {
		b = pw.appendWindow(b, n.neg, pbHistNegSpan, pbHistNegDelta)
	}
	b = pw.appendWindow(b, &n.pos, pbHistPosSpan, pbHistPosDelta)
	created := time.Unix(0, n.created)
	sec, nsec := created.Unix(), int64(created.Nanosecond())
	size := 0
	if sec != 0 {
		size += protowire.SizeTag(pbTimeSeconds) + protowire.SizeVarint(uint64(sec))
	}
	if nsec != 0 {
		size += protowire.SizeTag(pbTimeNanos) + protowire.SizeVarint(uint64(nsec))
	}
	b = protowire.AppendTag(b, pbHistCreated, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(size))
	if sec != 0 {
		b = protowire.AppendTag(b, pbTimeSeconds, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(sec))
	}
	if nsec != 0 {
		b = protowire.AppendTag(b, pbTimeNanos, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(nsec))
	}
	return b
}

// appendWindow appends the spans (field spanField) and deltas (deltaField,
// not packed: client_model's proto2 fields) of w's buckets.
func (pw *protoWriter) appendWindow(b []byte, w *window, spanField, deltaField protowire.Number) []byte {
	pw.spans, pw.deltas = w.appendSpans(pw.spans[:0], pw.deltas[:0])
	for _, s := range pw.spans {
		b = protowire.AppendTag(b, spanField, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(protowire.SizeTag(pbSpanOffset)+
			protowire.SizeVarint(protowire.EncodeZigZag(int64(s.offset)))+
			protowire.SizeTag(pbSpanLength)+protowire.SizeVarint(uint64(s.length))))
		b = protowire.AppendTag(b, pbSpanOffset, protowire.VarintType)
		b = protowire.AppendVarint(b, protowire.EncodeZigZag(int64(s.offset)))
		b = protowire.AppendTag(b, pbSpanLength, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(s.length))
	}
	for _, d := range pw.deltas {
		b = protowire.AppendTag(b, deltaField, protowire.VarintType)
		b = protowire.AppendVarint(b, protowire.EncodeZigZag(d))
	}
	return b
}

func counterOf(t *Target, fam int) uint64 {
	switch fam {
	case famLate:
		return t.late.Load()
	case famRequests:
		return t.requests.Load()
	case famResolveErrs:
		return t.resolvErr.Load()
	case famResponses:
		return t.responses.Load()
	}
	return t.sendErrs.Load()
}

func appendLabels(b []byte, lp []*dto.LabelPair) []byte {
	for _, l := range lp {
		name, value := l.GetName(), l.GetValue()
		n := protowire.SizeTag(pbLabelName) + protowire.SizeBytes(len(name)) +
			protowire.SizeTag(pbLabelValue) + protowire.SizeBytes(len(value))
		b = protowire.AppendTag(b, pbMetricLabel, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(n))
		b = protowire.AppendTag(b, pbLabelName, protowire.BytesType)
		b = protowire.AppendString(b, name)
		b = protowire.AppendTag(b, pbLabelValue, protowire.BytesType)
		b = protowire.AppendString(b, value)
	}
	return b
}

// appendValue appends a Counter or Gauge (field) holding v.
func appendValue(b []byte, field protowire.Number, v float64) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(protowire.SizeTag(pbValue)+protowire.SizeFixed64()))
	b = protowire.AppendTag(b, pbValue, protowire.Fixed64Type)
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}
