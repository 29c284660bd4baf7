package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/downtime-detector/downtime/internal/clock"
	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/render"
	"github.com/downtime-detector/downtime/receiver/store"
)

// MaxWait is the longest the watcher sleeps between two looks at the
// store, so that a timeout changed by a reload applies within it.
const MaxWait = time.Minute

// Router picks the route of an alert (*config.Config and the receiver's
// live configuration fit; webhook.Router is the same).
type Router interface {
	Route(name, receiver string, labels map[string]string) (config.Route, error)
}

// Renderer renders messages (*render.Renderer fits).
type Renderer interface {
	Render(d render.Data) ([]render.Message, error)
}

// Settings are the heartbeat settings in force, read at every use so a
// reload applies.
type Settings struct {
	Alertname string
	Timeout   time.Duration // 0: never warn
}

// Options configure a Watcher.
type Options struct {
	Store    store.Store
	Router   Router
	Renderer Renderer
	Settings func() Settings
	Clock    clock.Clock // default clock.Real()
	Logger   *slog.Logger
	// Registerer gets the heartbeat metrics (nil: none).
	Registerer prometheus.Registerer
	Queued     func() // called after a message was committed (wakes the sender)
}

// Watcher records heartbeats (Take) and warns about silent sources (Run).
type Watcher struct {
	opts Options
	wake chan struct{}
	// started is when this receiver began listening for heartbeats:
	// Decide counts no silence from before it (see the restart rule there).
	started time.Time
}

// New returns a Watcher; call Run to start its loop. The receiver's start
// is New's time: create the Watcher when the receiver starts.
func New(opts Options) *Watcher {
	if opts.Clock == nil {
		opts.Clock = clock.Real()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Queued == nil {
		opts.Queued = func() {}
	}
	w := &Watcher{opts: opts, wake: make(chan struct{}, 1), started: opts.Clock.Now()}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(&collector{w: w})
	}
	return w
}

// Take records the heartbeats among the alerts of one webhook notification
// posted to /webhook/{pathRoute} and returns the other alerts, which are
// planned as usual. A heartbeat never becomes a message itself; the first
// one after a warning queues the "back" reply (in the same transaction
// that records it). A resolved heartbeat alert (Alertmanager says the
// Watchdog stopped firing) is dropped without counting as a heartbeat.
func (w *Watcher) Take(pathRoute string, data *template.Data) ([]template.Alert, error) {
	name := w.opts.Settings().Alertname
	var rest []template.Alert
	var beats []template.Alert
	for _, a := range data.Alerts {
		switch {
		case a.Labels[model.AlertNameLabel] != name:
			rest = append(rest, a)
		case a.Status == string(model.AlertFiring):
			beats = append(beats, a)
		default:
			w.opts.Logger.Info("heartbeat alert resolved: Alertmanager stopped sending it",
				"alertname", name, "receiver", data.Receiver)
		}
	}
	if len(beats) == 0 {
		return rest, nil
	}
	sources := map[string]config.Route{}
	for _, a := range beats {
		r, err := w.opts.Router.Route(pathRoute, data.Receiver, a.Labels)
		if err != nil {
			return nil, err
		}
		sources[SourceKey(r.Name, data.Receiver)] = r
	}
	now := w.opts.Clock.Now()
	var backs []store.Job
	err := w.opts.Store.Update(func(tx store.Tx) error {
		backs = nil // a PostgreSQL retry runs this again
		for src, r := range sources {
			job, err := w.arrive(tx, src, r, data, now)
			if err != nil {
				return err
			}
			if job != nil {
				backs = append(backs, *job)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("recording heartbeat: %w", err)
	}
	for _, j := range backs {
		w.opts.Logger.Info("heartbeats are back", "route", j.Route, "receiver", data.Receiver)
	}
	if len(backs) > 0 {
		w.opts.Queued()
	}
	w.Notify()
	return rest, nil
}

// arrive records one source's heartbeat in tx and queues the "back" reply
// when a warning was queued for its silence.
func (w *Watcher) arrive(tx store.Tx, src string, r config.Route, data *template.Data, now time.Time) (*store.Job, error) {
	h, _, err := tx.Heartbeat(src)
	if err != nil {
		return nil, err
	}
	prev := h
	h, back, _ := Arrive(h, now)
	h.Source, h.Route, h.Receiver, h.ExternalURL = src, r.Name, data.Receiver, data.ExternalURL
	h.ChatID, h.ThreadID, h.Silent = r.ChatID, r.ThreadID, r.Silent
	if err := tx.PutHeartbeat(h); err != nil {
		return nil, err
	}
	if !back {
		return nil, nil
	}
	// The reply goes where the warning went, to the warning's alert ref:
	// the sender replies to the message that ref recorded.
	jobs, err := w.jobs(render.HeartbeatBack, prev, now, prev.Warning, "heartbeat_back")
	if err != nil {
		return nil, err
	}
	queued, err := tx.Enqueue(jobs, now)
	if err != nil || len(queued) == 0 {
		return nil, err
	}
	return &queued[0], nil
}

// jobs renders one heartbeat message about h for ref's alert: a firing
// job (the warning, whose message id the store records on ref) or a
// resolved job (the reply).
func (w *Watcher) jobs(kind render.Kind, h store.Heartbeat, now time.Time, ref store.AlertRef, key string) ([]store.Job, error) {
	a := template.Alert{Status: string(model.AlertFiring), StartsAt: h.Last,
		Labels: template.KV{model.AlertNameLabel: w.opts.Settings().Alertname}}
	jk := store.KindFiring
	if kind == render.HeartbeatBack {
		a.Status, a.EndsAt, jk = string(model.AlertResolved), now, store.KindResolved
	}
	msgs, err := w.opts.Renderer.Render(render.Data{Kind: kind, Receiver: h.Receiver, Route: h.Route,
		ExternalURL: h.ExternalURL, Alerts: []template.Alert{a}, Now: now})
	if err != nil {
		return nil, fmt.Errorf("rendering %s message: %w", kind, err)
	}
	if len(msgs) == 0 {
		return nil, errors.New(string(kind) + " rendered no message")
	}
	// One alert, one message: a template that still splits keeps the first.
	return []store.Job{{Kind: jk, Route: h.Route, ChatID: h.ChatID, ThreadID: h.ThreadID, Silent: h.Silent,
		Text: msgs[0].Text, Alerts: []store.AlertRef{ref}, Keys: []string{ref.Key() + "/" + key}}}, nil
}

// warningRef is the alert ref the warning about h's current silence
// carries: one per source and silence, so its idempotency key makes a
// second warning for the same silence impossible.
func warningRef(h store.Heartbeat) store.AlertRef {
	return store.AlertRef{Route: h.Route, Fingerprint: "heartbeat/" + h.Receiver, StartsAt: h.Last}
}

// Notify wakes the loop (after a heartbeat from a new source). It never
// blocks.
func (w *Watcher) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run warns about silent sources until ctx is cancelled: it looks at every
// source, queues the warnings due, then sleeps until the next one can be
// due (at most MaxWait) or a heartbeat wakes it.
func (w *Watcher) Run(ctx context.Context) {
	for ctx.Err() == nil {
		now := w.opts.Clock.Now()
		wait := MaxWait
		next, err := w.check(now)
		if err != nil {
			w.opts.Logger.Error("checking heartbeats", "err", err)
		} else if !next.IsZero() && next.Sub(now) < wait {
			wait = next.Sub(now)
		}
		t := w.opts.Clock.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-t.C():
		}
		t.Stop()
	}
}

// check queues the warnings due at now and returns when the next one can
// be due (zero: none known).
func (w *Watcher) check(now time.Time) (time.Time, error) {
	timeout := w.opts.Settings().Timeout
	hs, err := w.opts.Store.Heartbeats()
	if err != nil {
		return time.Time{}, err
	}
	var next time.Time
	var errs []error
	for _, h := range hs {
		d := Decide(h, w.started, now, timeout)
		if d.Warn {
			errs = append(errs, w.warn(h.Source, now, timeout))
		}
		if !d.Next.IsZero() && (next.IsZero() || d.Next.Before(next)) {
			next = d.Next
		}
	}
	return next, errors.Join(errs...)
}

// warn queues the warning for one source and marks it warned, in one
// transaction that decides again on the state it reads: a heartbeat that
// arrived meanwhile, or another receiver on the same database that warned
// first, leaves nothing to do.
func (w *Watcher) warn(src string, now time.Time, timeout time.Duration) error {
	var queued []store.Job
	var warned store.Heartbeat
	err := w.opts.Store.Update(func(tx store.Tx) error {
		queued = nil
		h, ok, err := tx.Heartbeat(src)
		if err != nil || !ok || !Decide(h, w.started, now, timeout).Warn {
			return err
		}
		ref := warningRef(h)
		jobs, err := w.jobs(render.HeartbeatLost, h, now, ref, "heartbeat_lost")
		if err != nil {
			return err
		}
		if queued, err = tx.Enqueue(jobs, now); err != nil {
			return err
		}
		if err := tx.PutAlertState(ref, store.AlertState{Firing: true, ChatID: h.ChatID, Updated: now}); err != nil {
			return err
		}
		h.Warned, h.Warning = true, ref
		warned = h
		return tx.PutHeartbeat(h)
	})
	if err != nil {
		return fmt.Errorf("warning about source %q: %w", src, err)
	}
	if len(queued) > 0 {
		w.opts.Logger.Warn("no heartbeat from Alertmanager: alerts may not be reaching you",
			"route", warned.Route, "receiver", warned.Receiver, "external_url", warned.ExternalURL,
			"last", warned.Last, "silence", now.Sub(warned.Last))
		w.opts.Queued()
	}
	return nil
}
