package main

import (
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/downtime-detector/downtime/exporter/collector"
)

// benchExporter is an exporter with n targets that have answered once,
// enough to serve /metrics.
func benchExporter(n int) *exporter {
	e := &exporter{o: options{logger: slog.New(slog.DiscardHandler)}, reg: prometheus.NewRegistry()}
	e.registerSelfMetrics()
	e.col = collector.New(time.Now)
	ts := make([]*collector.Target, n)
	t0 := time.Now()
	for i := range ts {
		ts[i] = collector.NewTarget(netip.AddrFrom4([4]byte{127, 1, byte(i >> 8), byte(i)}).String(),
			map[string]string{"site": "lab"}, time.Second)
		ts[i].SetAddr(netip.AddrFrom4([4]byte{127, 1, byte(i >> 8), byte(i)}))
		ts[i].Sent(t0)
		ts[i].Replied(time.Millisecond, t0)
	}
	e.col.SetTargets(ts)
	return e
}

// BenchmarkMetricsHandler is a whole /metrics request at 10,000 targets in
// each format Prometheus may ask for: text (its fallback) and protobuf (with
// native histograms or scrape_protocols preferring it), each plain and with
// gzip as Prometheus sends it.
func BenchmarkMetricsHandler(b *testing.B) {
	e := benchExporter(10_000)
	h := e.metricsHandler()
	for _, bc := range []struct {
		name, accept, encoding string
	}{
		{"text", "text/plain;version=0.0.4", ""},
		{"text-gzip", "text/plain;version=0.0.4", "gzip"},
		{"protobuf", string(expfmt.NewFormat(expfmt.TypeProtoDelim)), ""},
		{"protobuf-gzip", string(expfmt.NewFormat(expfmt.TypeProtoDelim)), "gzip"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/metrics", nil)
			req.Header.Set("Accept", bc.accept)
			if bc.encoding != "" {
				req.Header.Set("Accept-Encoding", bc.encoding)
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
		})
	}
}

// TestMetricsHandlerFormats: both formats carry the same target series.
func TestMetricsHandlerFormats(t *testing.T) {
	h := benchExporter(3).metricsHandler()
	for _, accept := range []string{"text/plain;version=0.0.4", string(expfmt.NewFormat(expfmt.TypeProtoDelim))} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.Header.Set("Accept", accept)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		format := expfmt.ResponseFormat(w.Result().Header)
		dec := expfmt.NewDecoder(w.Body, format)
		families := map[string]int{}
		for {
			var mf dto.MetricFamily
			if err := dec.Decode(&mf); err != nil {
				break
			}
			families[mf.GetName()] = len(mf.GetMetric())
		}
		if families["ping_up"] != 3 || families["ping_rtt_seconds"] != 3 {
			t.Errorf("%s (%s): got ping_up x%d, ping_rtt_seconds x%d, want 3 each", accept, format, families["ping_up"], families["ping_rtt_seconds"])
		}
	}
}
