package reconcile

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/downtime-detector/downtime/receiver/alertmanager"
)

// DefaultInterval between rounds. With the default SuppressedGrace of 0, a
// silenced alert's recovery is reported at most one interval after
// Alertmanager stops listing it, which Prometheus causes at its next rule
// evaluation: well within the 60 s goal.
const DefaultInterval = 15 * time.Second

// Source is what the loop asks Alertmanager: *alertmanager.Client.
type Source interface {
	Snapshots(ctx context.Context, filter []string) []alertmanager.Snapshot
}

// Holder is the receiver side, implemented by the lead over the store and
// the delivery queue.
type Holder interface {
	// Firing lists the alerts the receiver holds as firing (a firing message
	// sent or queued, no resolved one).
	Firing(ctx context.Context) ([]Held, error)
	// Resolve reports each decision as the resolved webhook would have: the
	// resolved reply and the edit of the firing message, with d.EndsAt as the
	// end. It must be idempotent per (Route, Fingerprint, StartsAt): a
	// resolved webhook may still arrive, or have arrived, for the same one.
	Resolve(ctx context.Context, resolved []Decision) error
}

// Loop runs Decide every Interval.
type Loop struct {
	Source   Source
	Holder   Holder
	Interval time.Duration
	Options  Options
	Filter   []string // optional matchers for GET /api/v2/alerts
	Now      func() time.Time
	Logger   *slog.Logger
	// Load and Save, when set, keep the state across restarts: Load is
	// called before the first round, Save after every round (errors are
	// logged; the round's decisions stand).
	Load func() (State, error)
	Save func(State) error
	// Active, when set, is asked before each round: false skips it (no
	// Alertmanager configured now; a reload may add one).
	Active func() bool
	// Every, when set, is the interval, read before each wait (a reload
	// may change it); else Interval.
	Every func() time.Duration

	loaded  bool
	state   State
	metrics *metrics
}

// NewLoop fills in the defaults and registers the metrics on reg (may be nil).
func NewLoop(src Source, h Holder, reg prometheus.Registerer, logger *slog.Logger) *Loop {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Loop{Source: src, Holder: h, Interval: DefaultInterval, Options: DefaultOptions,
		Now: time.Now, Logger: logger, state: State{}, metrics: newMetrics(reg)}
}

// Run does a round every Interval (or Every) until ctx ends, skipping the
// rounds while Active says no.
func (l *Loop) Run(ctx context.Context) error {
	for {
		if l.Active == nil || l.Active() {
			if _, err := l.Once(ctx); err != nil && ctx.Err() == nil {
				l.Logger.Warn("reconcile round failed", "err", err)
			}
		}
		d := l.Interval
		if l.Every != nil {
			d = l.Every()
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// ErrNoAlertmanager: no peer answered; nothing was decided.
var ErrNoAlertmanager = errors.New("no alertmanager answered; alerts left as they are")

// Once does one round and returns its decisions.
func (l *Loop) Once(ctx context.Context) ([]Decision, error) {
	l.metrics.runs.Inc()
	if !l.loaded && l.Load != nil {
		if st, err := l.Load(); err != nil {
			l.Logger.Warn("reading the saved reconcile state; starting afresh", "err", err)
		} else if st != nil {
			l.state = st
		}
	}
	l.loaded = true
	if l.Save != nil {
		defer func() {
			if err := l.Save(l.state); err != nil {
				l.Logger.Warn("saving the reconcile state", "err", err)
			}
		}()
	}
	held, err := l.Holder.Firing(ctx)
	if err != nil {
		l.metrics.failed.Inc()
		return nil, err
	}
	if len(held) == 0 {
		l.state = State{}
		return nil, nil
	}
	snaps := l.Source.Snapshots(ctx, l.Filter)
	var errs []error
	for _, s := range snaps {
		if s.Err != nil {
			errs = append(errs, s.Err)
		}
	}
	decisions, next := Decide(held, snaps, l.state, l.Now(), l.Options)
	var resolved []Decision
	unknown := 0
	for _, d := range decisions {
		switch d.Verdict {
		case Resolved:
			resolved = append(resolved, d)
		case Unknown:
			unknown++
		}
	}
	l.metrics.unknown.Set(float64(unknown))
	if len(resolved) > 0 {
		if err := l.Holder.Resolve(ctx, resolved); err != nil {
			// Keep tracking them so that the next round decides again,
			// with the same first miss as the end.
			for _, d := range resolved {
				tr := l.state[d.Fingerprint]
				if d.Reason == ReasonSuppressed || d.Reason == ReasonLost {
					tr.MissingSince = d.EndsAt
				}
				next[d.Fingerprint] = tr
			}
			l.state = next
			l.metrics.failed.Inc()
			return decisions, err
		}
		for _, d := range resolved {
			l.metrics.resolved.WithLabelValues(d.Reason).Inc()
			l.Logger.Info("alert ended without a resolved webhook", "route", d.Route, "fingerprint", d.Fingerprint,
				"reason", d.Reason, "ends_at", d.EndsAt)
		}
	}
	l.state = next
	if len(errs) == len(snaps) {
		l.metrics.failed.Inc()
		return decisions, errors.Join(append([]error{ErrNoAlertmanager}, errs...)...)
	}
	return decisions, nil
}

type metrics struct {
	runs, failed prometheus.Counter
	resolved     *prometheus.CounterVec
	unknown      prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		runs: f.NewCounter(prometheus.CounterOpts{Name: "downtime_receiver_reconcile_runs_total",
			Help: "Rounds of comparing the alerts held as firing with Alertmanager."}),
		failed: f.NewCounter(prometheus.CounterOpts{Name: "downtime_receiver_reconcile_runs_failed_total",
			Help: "Rounds that could not decide or report: no Alertmanager answered, or the store failed."}),
		resolved: f.NewCounterVec(prometheus.CounterOpts{Name: "downtime_receiver_reconcile_resolved_total",
			Help: "Alerts reported resolved by the reconciler because no resolved webhook came, by reason."}, []string{"reason"}),
		unknown: f.NewGauge(prometheus.GaugeOpts{Name: "downtime_receiver_reconcile_unknown_alerts",
			Help: "Held alerts whose state Alertmanager could not tell in the last round."}),
	}
	for _, r := range Reasons {
		m.resolved.WithLabelValues(r)
	}
	return m
}
