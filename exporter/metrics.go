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

// metricsHandler serves /metrics. Clients that ask for protobuf (Prometheus
// with native histograms) get promhttp over the registry and the
// collector's families. Everyone else gets the text format, with the
// targets' series written straight from their counters by
// Collector.WriteText: at 10,000 targets that is about 20 times faster and
// allocates 20 times less than gathering and encoding 280,000 series.
func (e *exporter) metricsHandler() http.Handler {
	full := promhttp.HandlerFor(collector.Gatherers{e.reg, e.col}, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(e.o.logger.Handler(), slog.LevelError),
		Registry: e.reg, // promhttp_metric_handler_errors_total
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if expfmt.NegotiateAccept(r.Header, expfmt.DefaultAcceptedFormats()...).FormatType() != expfmt.TypeTextPlain {
			full.ServeHTTP(w, r)
			return
		}
		e.serveText(w, r)
	})
}

// serveText writes the self-metrics (via expfmt) and then the targets'.
func (e *exporter) serveText(w http.ResponseWriter, r *http.Request) {
	mfs, err := e.reg.Gather()
	if err != nil {
		// Like promhttp's default: a broken self-metric fails the scrape.
		http.Error(w, "gathering metrics: "+err.Error(), http.StatusInternalServerError)
		e.o.logger.Error("gathering metrics", "err", err)
		return
	}
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
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
	if err := e.col.WriteText(out); err != nil {
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
