package delivery

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/telegram"
)

type metrics struct {
	sent    *prometheus.CounterVec
	failed  *prometheus.CounterVec
	retries prometheus.Counter
	latency prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, st store.Store, now func() time.Time) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		sent: f.NewCounterVec(prometheus.CounterOpts{
			Name: "downtime_receiver_messages_sent_total",
			Help: "Telegram messages sent and edits made, by kind (firing, reminder, resolved, edit).",
		}, []string{"kind"}),
		failed: f.NewCounterVec(prometheus.CounterOpts{
			Name: "downtime_receiver_messages_failed_total",
			Help: "Jobs Telegram refused permanently (moved to the dead letters), by reason.",
		}, []string{"reason"}),
		retries: f.NewCounter(prometheus.CounterOpts{
			Name: "downtime_receiver_retries_total",
			Help: "Telegram calls that failed temporarily (429, 5xx, network, chat migration) and will be retried.",
		}),
		latency: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "downtime_receiver_delivery_latency_seconds",
			Help:    "Time from queueing a job to Telegram accepting it.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
		}),
	}
	for _, k := range []store.Kind{store.KindFiring, store.KindReminder, store.KindResolved, store.KindEdit} {
		m.sent.WithLabelValues(string(k))
	}
	for _, r := range telegram.Reasons() {
		m.failed.WithLabelValues(r)
	}
	if reg != nil && st != nil {
		reg.MustRegister(&queueCollector{st: st, now: now})
	}
	return m
}

// queueCollector reads queue depth, oldest age and dead letters from the
// store at scrape time.
type queueCollector struct {
	st  store.Store
	now func() time.Time
}

var (
	descDepth = prometheus.NewDesc("downtime_receiver_queue_depth",
		"Jobs waiting to be sent to Telegram.", nil, nil)
	descOldest = prometheus.NewDesc("downtime_receiver_queue_oldest_age_seconds",
		"Age of the oldest queued job, 0 when the queue is empty.", nil, nil)
	descDead = prometheus.NewDesc("downtime_receiver_dead_letters",
		"Jobs Telegram refused permanently, kept in the store.", nil, nil)
)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descDepth
	ch <- descOldest
	ch <- descDead
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	s, err := c.st.Stats()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descDepth, err)
		return
	}
	age := 0.0
	if !s.Oldest.IsZero() {
		age = max(c.now().Sub(s.Oldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(descDepth, prometheus.GaugeValue, float64(s.Depth))
	ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, age)
	ch <- prometheus.MustNewConstMetric(descDead, prometheus.GaugeValue, float64(s.DeadLetters))
}
