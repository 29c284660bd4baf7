package main

import (
	"strings"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/exporter/collector"
	"github.com/downtime-detector/downtime/exporter/internal/fakes"
)

// TestSeriesOptions: --metrics.rtt-histogram=native and
// --metrics.omit-zero-errors reach the served text format: no classic
// buckets, no error counters at 0, and an error counter shows once it is not.
func TestSeriesOptions(t *testing.T) {
	fe := fakes.NewEngine()
	path := tempConfig(t, reloadBefore)
	a := start(t, options{configFile: path, newEngine: fe.New,
		series: collector.Options{RTT: collector.RTTNative, OmitZeroErrors: true}})
	fe.Probe(t, "127.0.0.1", true, time.Now())
	body := a.scrape(t)
	for _, absent := range []string{"ping_rtt_seconds_bucket", "ping_late_responses_total", "ping_send_errors_total", "ping_resolve_errors_total"} {
		if strings.Contains(body, absent) {
			t.Errorf("got %s in the scrape, want none", absent)
		}
	}
	if got := mustValue(t, body, `ping_rtt_seconds_count{site="lab",target="127.0.0.1"}`); got != 1 {
		t.Errorf("rtt count: got %v, want 1", got)
	}
	got, _ := fe.Get("127.0.0.1")
	got.Obs.SendFailed(nil)
	if v := mustValue(t, a.scrape(t), `ping_send_errors_total{site="lab",target="127.0.0.1"}`); v != 1 {
		t.Errorf("send errors after one: got %v, want 1", v)
	}
}
