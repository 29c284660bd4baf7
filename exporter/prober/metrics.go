package prober

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"
)

// lateThreshold: a probe sent this much after the end of its send window
// (its scheduled time + half a tick, see sched.go) counts in
// downtime_exporter_probes_late_total.
const lateThreshold = 10e6 // ns

// metrics are the engine's self metrics: they tell overload of the exporter
// apart from loss in the network.
type metrics struct {
	reg        prometheus.Registerer
	collectors []prometheus.Collector
	sendErrors *prometheus.CounterVec
	late       prometheus.Counter
	lag        prometheus.Histogram
}

// commonErrnos get a series from the start, so rate() sees the first error.
var commonErrnos = []syscall.Errno{unix.EHOSTUNREACH, unix.ENETUNREACH, unix.ENOBUFS, unix.EAGAIN, unix.EPERM}

// lateHelp states the send window from the scheduler's tick range (half a
// tick after the scheduled time; sched.go); TestLateHelp keeps it true.
var lateHelp = fmt.Sprintf("Echo requests sent more than %s after their send window (scheduled time + half a scheduler tick, %s; less for intervals under %s): the exporter is overloaded.",
	time.Duration(lateThreshold), maxTick/2, 2*maxTick)

func newMetrics(reg prometheus.Registerer, drops func() float64) (*metrics, error) {
	m := &metrics{
		reg: reg,
		sendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "downtime_exporter_send_errors_total",
			Help: "Echo requests the kernel refused to send, by errno.",
		}, []string{"errno"}),
		late: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "downtime_exporter_probes_late_total",
			Help: lateHelp,
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "downtime_exporter_probe_schedule_lag_seconds",
			Help:    "Delay between the scheduled and the actual send time of echo requests (early sends count as 0).",
			Buckets: []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25, 1},
		}),
	}
	for _, e := range commonErrnos {
		m.sendErrors.WithLabelValues(errnoName(e))
	}
	m.collectors = []prometheus.Collector{m.sendErrors, m.late, m.lag,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "downtime_exporter_receive_drops_total",
			Help: "Replies the kernel dropped because the ICMP socket's receive buffer was full (SO_RXQ_OVFL).",
		}, drops),
	}
	if reg == nil {
		return m, nil
	}
	for i, c := range m.collectors {
		if err := reg.Register(c); err != nil {
			for _, r := range m.collectors[:i] {
				reg.Unregister(r)
			}
			return nil, fmt.Errorf("register prober metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.collectors {
		m.reg.Unregister(c)
	}
}

func (m *metrics) sendError(err error) {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		m.sendErrors.WithLabelValues(errnoName(errno)).Inc()
		return
	}
	m.sendErrors.WithLabelValues("other").Inc()
}

func errnoName(e syscall.Errno) string {
	if n := unix.ErrnoName(e); n != "" {
		return n
	}
	return fmt.Sprintf("errno%d", int(e))
}
