package collector

import (
	"encoding/binary"
	"io"
	"math"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
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
)

// WriteProto writes the targets' metric families in the delimited protobuf
// format, the same messages as Gather (classic and native RTT buckets).
// Gather plus proto.Marshal cost about 2.5 times a text scrape and 50
// allocations per target (BENCHMARKS.md); this encodes counters and gauges
// straight from the atomics and allocates only for the histograms, which
// client_golang builds.
func (c *Collector) WriteProto(w io.Writer) error {
	c.mu.RLock()
	set := c.set
	c.mu.RUnlock()
	if len(set) == 0 {
		return nil
	}
	now := c.now()
	pw := &protoWriter{w: w}
	var h dto.Metric
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
			if err := pw.series(fam, &set[i], now, &h); err != nil {
				return err
			}
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
	w      io.Writer
	fam    []byte
	m, out []byte
}

// series appends the Metric of family fam for one target.
func (pw *protoWriter) series(fam int, e *entry, now time.Time, h *dto.Metric) error {
	t := e.t
	m := pw.m[:0]
	switch fam {
	case famLastReply:
		last := t.lastReply.Load()
		if last == 0 {
			return nil
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
		h.Reset()
		if err := t.writeRTT(h); err != nil {
			return err
		}
		m = appendLabels(m, e.labels)
		m = protowire.AppendTag(m, pbMetricHistogram, protowire.BytesType)
		var err error
		m = protowire.AppendVarint(m, uint64(proto.Size(h.Histogram)))
		if m, err = (proto.MarshalOptions{}).MarshalAppend(m, h.Histogram); err != nil {
			return err
		}
	}
	pw.m = m
	pw.fam = protowire.AppendTag(pw.fam, pbFamilyMetric, protowire.BytesType)
	pw.fam = protowire.AppendBytes(pw.fam, m)
	return nil
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
