package webhook

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/store"
)

// enqueue plans and queues the messages of one notification in a single
// store transaction and returns how many jobs were queued. Only after it
// returns without error may the request be answered 2xx.
func (h *Handler) enqueue(pathRoute string, msg *Message) (int, error) {
	if err := checkFingerprints(msg.Alerts); err != nil {
		return 0, err
	}
	dests := make([]config.Route, len(msg.Alerts))
	for i, a := range msg.Alerts {
		d, err := h.opts.Router.Route(pathRoute, msg.Receiver, a.Labels)
		if err != nil {
			return 0, routeError(err)
		}
		dests[i] = d
	}
	now := h.opts.Now()
	clampEndsAt(msg.Alerts, now, h.opts.Logger)
	var queued []store.Job
	var ps []planned
	nPlanned := 0 // jobs planned, before the idempotency keys drop replays
	err := h.opts.Store.Update(func(tx store.Tx) error {
		ps = make([]planned, len(msg.Alerts))
		for i, a := range msg.Alerts {
			ref := refOf(dests[i], a)
			st, _, err := tx.AlertState(ref)
			if err != nil {
				return err
			}
			if err := checkStoredLabels(i, a, st); err != nil {
				return err
			}
			ps[i] = planned{alert: a, dest: dests[i], dec: Decide(a, st, dests[i].Reminders, now)}
			// The latest alert is kept so that an edit of the firing message
			// can re-render every alert it shows.
			if ps[i].dec.State.Alert, err = json.Marshal(a); err != nil {
				return err
			}
			if err := tx.PutAlertState(ref, ps[i].dec.State); err != nil {
				return err
			}
			if err := recordIncident(tx, dests[i], a, ps[i].dec, now); err != nil {
				return err
			}
		}
		jobs, err := h.jobs(groupPlans(ps, msg.Data, now))
		if err != nil {
			return err
		}
		nPlanned = len(jobs)
		queued, err = tx.Enqueue(jobs, now)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("queueing notification %q: %w", msg.GroupKey, err)
	}
	if h.opts.Observe != nil {
		for i, a := range msg.Alerts {
			h.opts.Observe(refOf(dests[i], a), a)
		}
	}
	for _, j := range queued {
		h.metrics.queued.WithLabelValues(string(j.Kind)).Inc()
	}
	if len(queued) > 0 {
		h.opts.Logger.Debug("notification queued", "receiver", msg.Receiver, "alerts", len(msg.Alerts), "jobs", len(queued))
		h.opts.Queued()
	} else {
		h.opts.Logger.Debug("notification queued nothing", "receiver", msg.Receiver, "group_key", msg.GroupKey,
			"why", nothingQueued(ps, nPlanned))
	}
	return len(queued), nil
}

// nothingQueued says why a notification queued no message, for the debug
// log: a replay (Alertmanager retrying, or both HA peers posting) whose
// idempotency keys were all taken, else what each alert's decision was.
func nothingQueued(ps []planned, nPlanned int) string {
	if nPlanned > 0 {
		return "replayed: every message it needs was queued before (idempotency keys seen)"
	}
	n := map[string]int{}
	for _, p := range ps {
		switch {
		case p.dec.State.Resolved:
			n["already resolved"]++
		case p.dec.State.AckedBy != "":
			n["acknowledged, no reminders"]++
		default:
			n["repeat, no reminder due yet"]++
		}
	}
	var parts []string
	for _, why := range []string{"repeat, no reminder due yet", "already resolved", "acknowledged, no reminders"} {
		if n[why] > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d", why, n[why]))
		}
	}
	if len(parts) == 0 {
		return "no alerts"
	}
	return strings.Join(parts, "; ")
}

func refOf(d config.Route, a template.Alert) store.AlertRef {
	return store.AlertRef{Route: d.Name, Fingerprint: a.Fingerprint, StartsAt: a.StartsAt}
}

// jobs renders every group; each rendered part becomes one job carrying the
// alerts it shows, so message ids are recorded per alert.
func (h *Handler) jobs(groups []Group) ([]store.Job, error) {
	var jobs []store.Job
	for _, g := range groups {
		parts, err := h.opts.Renderer.Render(g.RenderData())
		if err != nil {
			return nil, fmt.Errorf("rendering %s message for route %q: %w", g.Kind, g.Dest.Name, err)
		}
		for _, p := range parts {
			j := store.Job{Kind: g.Kind, Route: g.Dest.Name, ChatID: g.Dest.ChatID, ThreadID: g.Dest.ThreadID,
				Text: p.Text, Reminder: g.Reminder,
				Silent: g.Dest.Silent || (g.Kind == store.KindReminder && g.Dest.Reminders.Silent)}
			for _, a := range partAlerts(g.Alerts, p.Alerts) {
				ref := refOf(g.Dest, a)
				j.Alerts = append(j.Alerts, ref)
				j.Keys = append(j.Keys, Key(ref, g.Kind, g.Reminder))
			}
			jobs = append(jobs, j)
		}
	}
	return jobs, nil
}

func partAlerts(all []template.Alert, idx []int) []template.Alert {
	if idx == nil {
		return all
	}
	out := make([]template.Alert, 0, len(idx))
	for _, i := range idx {
		if i >= 0 && i < len(all) {
			out = append(out, all[i])
		}
	}
	return out
}
