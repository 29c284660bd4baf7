package main

import (
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

	"github.com/downtime-detector/downtime/exporter/collector"
)

// metricsHandler serves /metrics. The text format (Prometheus' fallback)
// and the delimited protobuf format (Prometheus with native histograms or
// scrape_protocols preferring it) write the targets' series straight from
// their counters (Collector.WriteText, WriteProto): at 10,000 targets that
// is many times cheaper than gathering and encoding 280,000 series
// (BENCHMARKS.md). Other formats (OpenMetrics) go through promhttp.
func (e *exporter) metricsHandler() http.Handler {
	full := promhttp.HandlerFor(collector.Gatherers{e.reg, e.col}, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(e.o.logger.Handler(), slog.LevelError),
		Registry: e.reg, // promhttp_metric_handler_errors_total
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		format := expfmt.NegotiateAccept(r.Header, expfmt.DefaultAcceptedFormats()...)
		switch format.FormatType() {
		case expfmt.TypeTextPlain:
			e.serveFast(w, r, expfmt.NewFormat(expfmt.TypeTextPlain), e.col.WriteText)
		case expfmt.TypeProtoDelim:
			e.serveFast(w, r, format, e.col.WriteProto)
		default:
			full.ServeHTTP(w, r)
		}
	})
}

// serveFast writes the self-metrics (via expfmt) and then the targets'
// (with writeTargets) in format.
func (e *exporter) serveFast(w http.ResponseWriter, r *http.Request, format expfmt.Format, writeTargets func(io.Writer) error) {
	mfs, err := e.reg.Gather()
	if err != nil {
		// Like promhttp's default: a broken self-metric fails the scrape.
		http.Error(w, "gathering metrics: "+err.Error(), http.StatusInternalServerError)
		e.o.logger.Error("gathering metrics", "err", err)
		return
	}
	w.Header().Set("Content-Type", string(format))
	var out io.Writer = w
	if acceptsGzip(r) {
		w.Header().Set("Content-Encoding", "gzip")
		gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed) // the level is valid
		defer gz.Close()
		out = gz
	}
	enc := expfmt.NewEncoder(out, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			e.o.logger.Debug("writing metrics", "err", err) // client gone
			return
		}
	}
	if err := writeTargets(out); err != nil {
		e.o.logger.Debug("writing metrics", "err", err)
	}
}

// acceptsGzip reports whether the request accepts gzip (q=0 aside, which
// no scraper sends).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		if enc, _, _ := strings.Cut(strings.TrimSpace(part), ";"); enc == "gzip" {
			return true
		}
	}
	return false
}
