package alertmanager

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Operations are the values of the "operation" label (the operation names
// of errors, with underscores).
var Operations = []string{"create_silence", "expire_silence", "list_silences", "list_alerts", "status"}

// Metrics are the client's metrics, registered once. A reload that builds
// a new Client passes the old one's (Config.Metrics), so the counters go
// on and nothing is registered twice.
type Metrics struct{ m *metrics }

// NewMetrics registers the client's metrics on reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics { return &Metrics{m: newMetrics(reg)} }

type metrics struct {
	requests *prometheus.CounterVec
	failed   *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "downtime_receiver_alertmanager_requests_total",
			Help: "Requests to Alertmanager's API v2, by operation.",
		}, []string{"operation"}),
		failed: f.NewCounterVec(prometheus.CounterOpts{
			Name: "downtime_receiver_alertmanager_requests_failed_total",
			Help: "Failed requests to Alertmanager's API v2, by operation and reason (network, 4xx, 5xx).",
		}, []string{"operation", "reason"}),
		latency: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "downtime_receiver_alertmanager_request_duration_seconds",
			Help:    "Duration of requests to Alertmanager's API v2, by operation.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"operation"}),
	}
	for _, op := range Operations {
		m.requests.WithLabelValues(op)
		m.latency.WithLabelValues(op)
		for _, r := range []string{"network", "4xx", "5xx"} {
			m.failed.WithLabelValues(op, r)
		}
	}
	return m
}

func (m *metrics) observe(op string, d time.Duration, err error) {
	op = strings.ReplaceAll(op, " ", "_")
	m.requests.WithLabelValues(op).Inc()
	m.latency.WithLabelValues(op).Observe(d.Seconds())
	if err == nil {
		return
	}
	reason := "network"
	var se *statusError
	if errors.As(err, &se) {
		reason = strconv.Itoa(se.status/100) + "xx"
	}
	m.failed.WithLabelValues(op, reason).Inc()
}
