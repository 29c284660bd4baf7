package heartbeat

import (
	"github.com/prometheus/client_golang/prometheus"
)

var (
	lastDesc = prometheus.NewDesc("downtime_receiver_heartbeat_last_timestamp_seconds",
		"When the last heartbeat (Watchdog alert) arrived from a source, in Unix seconds.",
		[]string{"route", "receiver"}, nil)
	missingDesc = prometheus.NewDesc("downtime_receiver_heartbeat_missing",
		"1 while a source has sent no heartbeat for the timeout (warned or due), else 0.",
		[]string{"route", "receiver"}, nil)
	timeoutDesc = prometheus.NewDesc("downtime_receiver_heartbeat_timeout_seconds",
		"The heartbeat timeout in force (0: warnings disabled).", nil, nil)
)

// collector reads the heartbeat state from the store at scrape time, so
// the series survive a restart and describe what the store says.
type collector struct{ w *Watcher }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- lastDesc
	ch <- missingDesc
	ch <- timeoutDesc
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	timeout := c.w.opts.Settings().Timeout
	ch <- prometheus.MustNewConstMetric(timeoutDesc, prometheus.GaugeValue, timeout.Seconds())
	hs, err := c.w.opts.Store.Heartbeats()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(lastDesc, err)
		return
	}
	now := c.w.opts.Clock.Now()
	for _, h := range hs {
		if h.Last.IsZero() {
			continue
		}
		missing := 0.0
		if h.Warned || Decide(h, c.w.started, now, timeout).Warn {
			missing = 1
		}
		ch <- prometheus.MustNewConstMetric(lastDesc, prometheus.GaugeValue,
			float64(h.Last.UnixNano())/1e9, h.Route, h.Receiver)
		ch <- prometheus.MustNewConstMetric(missingDesc, prometheus.GaugeValue, missing, h.Route, h.Receiver)
	}
}
