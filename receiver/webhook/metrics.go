package webhook

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	requests *prometheus.CounterVec
	invalid  *prometheus.CounterVec
	received prometheus.Counter
	queued   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "downtime_receiver_webhook_requests_total",
			Help: "Webhook requests by HTTP status code.",
		}, []string{"code"}),
		invalid: f.NewCounterVec(prometheus.CounterOpts{
			Name: "downtime_receiver_webhook_invalid_total",
			Help: "Webhook requests rejected, by reason.",
		}, []string{"reason"}),
		received: f.NewCounter(prometheus.CounterOpts{
			Name: "downtime_receiver_notifications_received_total",
			Help: "Valid Alertmanager notifications received.",
		}),
		queued: f.NewCounterVec(prometheus.CounterOpts{
			Name: "downtime_receiver_messages_queued_total",
			Help: "Telegram jobs queued, by kind (firing, reminder, resolved, edit).",
		}, []string{"kind"}),
	}
	for _, r := range InvalidReasons() {
		m.invalid.WithLabelValues(r)
	}
	for _, c := range []string{"200", "400", "401", "404", "405", "413", "500"} {
		m.requests.WithLabelValues(c)
	}
	for _, k := range []string{"firing", "reminder", "resolved", "edit"} {
		m.queued.WithLabelValues(k)
	}
	return m
}
