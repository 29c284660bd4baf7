// Package behind keeps the firing message of a down parent (a router, a
// switch) current with the hosts behind it that are unreachable too.
//
// The rules (rules/README.md, "One cause, one message") give a parent's
// HostDown the count of those hosts (annotation unreachable_behind) and make
// each of them a HostUnreachableBehindParent alert with parent="<target>",
// routed to no chat. A Tracker watches the parents the webhook saw firing,
// asks Alertmanager for those alerts, and when the set of hosts behind a
// parent changes it writes the list into the parent's stored alert
// (annotation render.BehindHostsKey) and queues an edit of its firing
// message through the delivery worker's usual edit path, which re-renders
// the message from the stored alerts.
//
// The watched parents are durable (store.Parents): Observe records a new
// one, the transaction that queues an edit records the list it shows, and
// the one that finds the parent resolved forgets it. Run loads them first,
// so a restarted receiver goes on editing a down parent's message without
// waiting for the parent's next webhook.
package behind

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/downtime-detector/downtime/internal/clock"
	"github.com/downtime-detector/downtime/receiver/alertmanager"
	"github.com/downtime-detector/downtime/receiver/render"
	"github.com/downtime-detector/downtime/receiver/store"
)

// ChildAlert is the alertname of a host unreachable behind a down parent.
const ChildAlert = "HostUnreachableBehindParent"

// Lister lists the alerts Alertmanager holds (*alertmanager.Client fits).
type Lister interface {
	Alerts(ctx context.Context, filter []string) ([]alertmanager.Alert, error)
}

// Options configure a Tracker.
type Options struct {
	Store  store.Store
	Alerts Lister
	// Text renders the new text of a firing message from all the alerts
	// it shows (delivery.Options.EditText fits); it is the job's text,
	// which the worker uses when it cannot re-render the message itself.
	Text       func(job store.Job, alerts []template.Alert) (string, error)
	Queued     func() // called after an edit was queued (wakes the worker)
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Tracker watches down parents. It is safe for concurrent use.
type Tracker struct {
	opts Options
	// writes orders the writes of the parents' store entries (Observe,
	// apply) with the memory they copy, so that an older list never
	// overwrites a newer one in the store; taken before mu.
	writes  sync.Mutex
	mu      sync.Mutex
	parents map[string]*parent // by AlertRef.Key
	// unsent is set by Sync when a list could not be shown because the
	// parent's firing message was not sent yet.
	unsent bool
	kick   chan struct{}
	edits  prometheus.Counter
	errors prometheus.Counter
}

type parent struct {
	ref         store.AlertRef
	job, target string
	// touched is when its store entry was last written (Observe writes it
	// again after touchEvery, so Prune keeps a long outage's entry).
	touched time.Time
	// shown is the list the firing message shows since this tracker
	// edited it (nil: not edited yet).
	shown []string
	// early counts the syncs soon after each other while its firing
	// message was not sent yet.
	early int
}

// maxEarly bounds those syncs per parent (a minute at RetrySoon).
const maxEarly = 30

// touchEvery is how often Observe rewrites the store entry of a parent it
// already watches: Alertmanager repeats a firing notification every
// repeat_interval, and the entry, like the alert's state, must look alive
// to Prune (days) while the parent is down, without a write per webhook.
const touchEvery = time.Hour

// New returns a Tracker; call Observe for every alert the webhook planned
// and Run (or Sync) to keep the messages current.
func New(opts Options) *Tracker {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Queued == nil {
		opts.Queued = func() {}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	f := promauto.With(opts.Registerer)
	return &Tracker{opts: opts, parents: map[string]*parent{}, kick: make(chan struct{}, 1),
		edits: f.NewCounter(prometheus.CounterOpts{Name: "downtime_receiver_parent_list_edits_total",
			Help: "Edits queued of a down parent's firing message because the hosts unreachable behind it changed."}),
		errors: f.NewCounter(prometheus.CounterOpts{Name: "downtime_receiver_parent_list_errors_total",
			Help: "Failed updates of the hosts behind down parents (Alertmanager or the store)."}),
	}
}

// Observe records an alert the webhook handled: a firing HostDown with
// hosts behind it (unreachable_behind > 0) is watched until it resolves.
// It runs after the webhook's commit and writes the store entry in a
// transaction of its own (a crash in between loses the watch until the
// parent's next notification, as before the entries were durable).
func (t *Tracker) Observe(ref store.AlertRef, a template.Alert) {
	if a.Labels["alertname"] != render.DownAlert || a.Labels["target"] == "" {
		return
	}
	t.writes.Lock()
	defer t.writes.Unlock()
	write, unwatch := t.observe(ref, a)
	var err error
	switch {
	case unwatch:
		err = t.opts.Store.Update(func(tx store.Tx) error { return tx.UnwatchParent(ref) })
	case write != nil:
		err = t.opts.Store.Update(func(tx store.Tx) error { return tx.WatchParent(*write) })
	}
	if err != nil {
		t.errors.Inc()
		t.opts.Logger.Warn("recording a down parent", "parent", a.Labels["target"], "err", err)
	}
}

// observe updates the watched parents in memory and says what to write:
// the entry to store, or to delete ref's.
func (t *Tracker) observe(ref store.AlertRef, a template.Alert) (write *store.Parent, unwatch bool) {
	now := t.opts.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	key := ref.Key()
	if a.Status == "resolved" {
		delete(t.parents, key)
		return nil, true
	}
	if p, ok := t.parents[key]; ok {
		if now.Sub(p.touched) < touchEvery {
			return nil, false
		}
		p.touched = now
		return p.entry(now), false
	}
	if n, err := strconv.Atoi(strings.TrimSpace(a.Annotations[render.BehindKey])); err != nil || n <= 0 {
		return nil, false
	}
	p := &parent{ref: ref, job: a.Labels["job"], target: a.Labels["target"], touched: now}
	t.parents[key] = p
	t.wake()
	return p.entry(now), false
}

// entry is p's store entry, written at now.
func (p *parent) entry(now time.Time) *store.Parent {
	return &store.Parent{Ref: p.ref, Job: p.job, Target: p.target, Shown: slices.Clone(p.shown), Updated: now}
}

func (t *Tracker) wake() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// Load adds the parents recorded in the store (by this receiver before a
// restart, or by another sharing the store) to the watched ones. Run calls
// it before its first sync.
func (t *Tracker) Load() error {
	ps, err := t.opts.Store.WatchedParents()
	if err != nil {
		return fmt.Errorf("reading the watched parents: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range ps {
		if _, ok := t.parents[e.Ref.Key()]; ok {
			continue
		}
		t.parents[e.Ref.Key()] = &parent{ref: e.Ref, job: e.Job, target: e.Target, shown: e.Shown, touched: e.Updated}
	}
	if len(ps) > 0 {
		t.opts.Logger.Debug("watching the down parents recorded in the store", "parents", len(ps))
	}
	return nil
}

// Watching returns how many parents are watched.
func (t *Tracker) Watching() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.parents)
}

// RetrySoon is how soon Run syncs again when a parent's list is known but
// its firing message was not sent yet (the worker sends it in a moment).
const RetrySoon = 2 * time.Second

// Run loads the recorded parents, then syncs when a new parent is observed
// and every interval of clk, until ctx is done. A failed load is tried
// again before each sync.
func (t *Tracker) Run(ctx context.Context, clk clock.Clock, interval time.Duration) {
	loaded := false
	for {
		if !loaded {
			if err := t.Load(); err != nil {
				t.errors.Inc()
				t.opts.Logger.Warn("loading the down parents", "err", err)
			} else {
				loaded = true
			}
		}
		if err := t.Sync(ctx); err != nil && ctx.Err() == nil {
			t.errors.Inc()
			t.opts.Logger.Warn("updating the hosts behind down parents", "err", err)
		}
		next := interval
		if t.waiting() {
			next = min(interval, RetrySoon)
		}
		tm := clk.NewTimer(next)
		select {
		case <-ctx.Done():
			tm.Stop()
			return
		case <-t.kick:
			tm.Stop()
		case <-tm.C():
		}
	}
}

// Sync asks Alertmanager once for the hosts behind every watched parent and
// queues an edit for each parent whose list changed.
func (t *Tracker) Sync(ctx context.Context) error {
	ps := t.snapshot()
	if len(ps) == 0 {
		return nil
	}
	alerts, err := t.opts.Alerts.Alerts(ctx, []string{`alertname="` + ChildAlert + `"`})
	if err != nil {
		return fmt.Errorf("listing %s alerts: %w", ChildAlert, err)
	}
	behind := hostsBehind(alerts)
	var errs []error
	t.mu.Lock()
	t.unsent = false
	t.mu.Unlock()
	for _, p := range ps {
		hosts := behind[jobParent{p.job, p.target}]
		// Nothing learnt yet (the children's alerts may reach Alertmanager
		// a little after the parent's): the message keeps the count, and
		// the parent is only checked for having ended.
		show := len(hosts) > 0 || p.shown != nil
		if err := t.apply(p, hosts, show); err != nil {
			errs = append(errs, fmt.Errorf("parent %q: %w", p.target, err))
		}
	}
	return errors.Join(errs...)
}

func (t *Tracker) waiting() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.unsent
}

func (t *Tracker) snapshot() []parent {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]parent, 0, len(t.parents))
	for _, p := range t.parents {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b parent) int { return strings.Compare(a.ref.Key(), b.ref.Key()) })
	return out
}

type jobParent struct{ job, parent string }

// hostsBehind groups HostUnreachableBehindParent alerts by job and parent:
// the sorted targets, each once (with several vantages the same host is one
// alert per exporter). Every alert Alertmanager lists counts, silenced or
// inhibited too: a muted host is still unreachable.
func hostsBehind(alerts []alertmanager.Alert) map[jobParent][]string {
	out := map[jobParent][]string{}
	for _, a := range alerts {
		if a.Labels["alertname"] != ChildAlert || a.Labels["parent"] == "" || a.Labels["target"] == "" {
			continue
		}
		k := jobParent{a.Labels["job"], a.Labels["parent"]}
		if !slices.Contains(out[k], a.Labels["target"]) {
			out[k] = append(out[k], a.Labels["target"])
		}
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out
}

// apply stores hosts on the parent's alert and queues an edit of its
// firing message if the message does not show them yet (with show false,
// it only forgets a parent whose alert ended).
func (t *Tracker) apply(p parent, hosts []string, show bool) error {
	t.writes.Lock()
	defer t.writes.Unlock()
	now := t.opts.Now()
	want := strings.Join(hosts, ",")
	var gone, queued, unsent bool
	err := t.opts.Store.Update(func(tx store.Tx) error {
		st, ok, err := tx.AlertState(p.ref)
		if err != nil {
			return err
		}
		if !ok || st.Resolved || !st.Firing {
			gone = true
			return tx.UnwatchParent(p.ref)
		}
		if !show {
			return nil
		}
		if st.MessageID == 0 || len(st.Alert) == 0 {
			unsent = true // the firing message is not sent yet: soon
			return nil
		}
		var a template.Alert
		if err := json.Unmarshal(st.Alert, &a); err != nil {
			return fmt.Errorf("decoding the stored alert: %w", err)
		}
		if cur, ok := a.Annotations[render.BehindHostsKey]; ok && cur == want {
			return nil
		}
		// A webhook stores the alert as Alertmanager sent it, without the
		// list: put it back, and edit only if the message shows another.
		if a.Annotations == nil {
			a.Annotations = template.KV{}
		}
		a.Annotations[render.BehindHostsKey] = want
		a.Annotations[render.BehindKey] = strconv.Itoa(len(hosts))
		if st.Alert, err = json.Marshal(a); err != nil {
			return err
		}
		st.Updated = now
		if err := tx.PutAlertState(p.ref, st); err != nil {
			return err
		}
		if p.shown != nil && slices.Equal(p.shown, hosts) {
			return nil
		}
		job, err := t.editJob(tx, p.ref, st, a, now)
		if err != nil {
			return err
		}
		q, err := tx.Enqueue([]store.Job{job}, now)
		if err != nil || len(q) == 0 {
			return err
		}
		queued = true
		// The list the message shows from now on, committed with its edit.
		shown := p
		shown.shown = slices.Clone(hosts)
		if shown.shown == nil {
			shown.shown = []string{}
		}
		return tx.WatchParent(*shown.entry(now))
	})
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if gone {
		delete(t.parents, p.ref.Key())
		return nil
	}
	if cur, ok := t.parents[p.ref.Key()]; ok && unsent && cur.early < maxEarly {
		// Not for ever: a firing message that was dead-lettered is never
		// sent, and Alertmanager is not to be asked every 2 s for it.
		cur.early++
		t.unsent = true
	}
	if queued {
		if cur, ok := t.parents[p.ref.Key()]; ok {
			cur.shown = slices.Clone(hosts)
			if cur.shown == nil {
				cur.shown = []string{}
			}
			cur.touched = now
		}
		t.edits.Inc()
		t.opts.Logger.Debug("hosts behind a down parent changed, editing its message",
			"parent", p.target, "job", p.job, "hosts", len(hosts))
		t.opts.Queued()
	}
	return nil
}

// editJob is the edit of the parent's firing message, with the text of
// every alert that message shows (the worker re-renders it when sending).
func (t *Tracker) editJob(tx store.Tx, ref store.AlertRef, st store.AlertState, a template.Alert, now time.Time) (store.Job, error) {
	job := store.Job{Kind: store.KindEdit, Route: ref.Route, ChatID: st.ChatID, Text: st.Text,
		Alerts: []store.AlertRef{ref},
		// Unique per list and time: the same list can come back (a host
		// recovers and fails again), and several can follow within one tick
		// of a coarse clock.
		Keys: []string{fmt.Sprintf("%s/behind/%x@%s", ref.Key(), listHash(a.Annotations[render.BehindHostsKey]),
			now.UTC().Format(time.RFC3339Nano))}}
	if t.opts.Text == nil {
		return job, nil
	}
	alerts := []template.Alert{a}
	if len(st.MessageAlerts) > 0 {
		alerts = alerts[:0]
		for _, r := range st.MessageAlerts {
			if r.Key() == ref.Key() {
				alerts = append(alerts, a)
				continue
			}
			o, ok, err := tx.AlertState(r)
			if err != nil {
				return job, err
			}
			var oa template.Alert
			if ok && json.Unmarshal(o.Alert, &oa) == nil {
				alerts = append(alerts, oa)
			}
		}
	}
	if text, err := t.opts.Text(job, alerts); err == nil {
		job.Text = text
	} else {
		t.opts.Logger.Warn("rendering the parent's message", "parent", a.Labels["target"], "err", err)
	}
	return job, nil
}

func listHash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:8]
}
