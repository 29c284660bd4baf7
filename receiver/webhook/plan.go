package webhook

import (
	"fmt"
	"sort"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/render"
	"github.com/downtime-detector/downtime/receiver/store"
)

// Decision is what one alert needs now.
type Decision struct {
	Kind     store.Kind // "" when nothing is due
	Reminder int        // reminders: 1-based index into the route's Reminders.After
	Final    bool       // the last reminder: nothing more until resolved
	Edit     bool       // resolved: also edit the firing message
	State    store.AlertState
}

// Decide is the reminder/resolve logic for one alert, a pure function of the
// alert, what was already queued for it (st) and now:
//   - firing, not yet notified: a firing message; reminders whose threshold
//     already passed are counted as done (the firing message shows the duration);
//   - firing, notified: reminder i when the downtime passed threshold i and i
//     is above the last reminder queued (intermediate ones are skipped),
//     unless the alert was acknowledged from the chat (st.AckedBy);
//   - resolved, not yet notified: a resolved reply, plus an edit of the firing
//     message when one was queued;
//   - anything else (a repeat, a stale firing after resolved): nothing.
func Decide(a template.Alert, st store.AlertState, rem config.Reminders, now time.Time) Decision {
	d := Decision{State: st}
	d.State.Updated = now
	if st.Resolved {
		return d
	}
	// Measured from the real start (render.Since: downtime_since, else
	// startsAt minus downtime_for), like the durations in the messages.
	passed := rem.Due(now.Sub(render.Since(a)))
	switch {
	case a.Status == "resolved":
		d.Kind, d.Edit, d.State.Resolved = store.KindResolved, st.Firing, true
	case !st.Firing:
		d.Kind, d.State.Firing, d.State.Reminder = store.KindFiring, true, passed
	case passed > st.Reminder && st.AckedBy == "":
		d.Kind, d.Reminder, d.Final = store.KindReminder, passed, rem.IsFinal(passed)
		d.State.Reminder = passed
	}
	return d
}

// Key is the idempotency key of one alert's message: it depends only on the
// alert and the schedule, so a retried or HA-duplicated webhook maps to the
// same key.
func Key(ref store.AlertRef, kind store.Kind, reminder int) string {
	if kind == store.KindReminder {
		return fmt.Sprintf("%s/%s/%d", ref.Key(), kind, reminder)
	}
	return ref.Key() + "/" + string(kind)
}

// Group is one message to render: alerts of one notification with the same
// destination, kind and reminder index.
type Group struct {
	Kind     store.Kind
	Dest     config.Route
	Reminder int
	Final    bool
	Alerts   []template.Alert
	Data     *template.Data // the whole notification, for common labels and URLs
	Now      time.Time
}

type planned struct {
	alert template.Alert
	dest  config.Route
	dec   Decision
}

// groupPlans turns per-alert decisions into messages: one group per
// (route, kind, reminder), each resolved group followed by its edit group.
// Order: firing, reminders (lowest index first), resolved, edit.
func groupPlans(ps []planned, data *template.Data, now time.Time) []Group {
	type gk struct {
		route    string
		kind     store.Kind
		reminder int
	}
	idx := map[gk]int{}
	var groups []Group
	add := func(p planned, kind store.Kind) {
		k := gk{p.dest.Name, kind, p.dec.Reminder}
		i, ok := idx[k]
		if !ok {
			i = len(groups)
			idx[k] = i
			groups = append(groups, Group{Kind: kind, Dest: p.dest, Reminder: p.dec.Reminder,
				Final: p.dec.Final, Data: data, Now: now})
		}
		groups[i].Alerts = append(groups[i].Alerts, p.alert)
	}
	for _, p := range ps {
		if p.dec.Kind == "" {
			continue
		}
		add(p, p.dec.Kind)
		if p.dec.Edit {
			add(p, store.KindEdit)
		}
	}
	rank := map[store.Kind]int{store.KindFiring: 0, store.KindReminder: 1, store.KindResolved: 2, store.KindEdit: 3}
	sort.SliceStable(groups, func(i, j int) bool {
		if rank[groups[i].Kind] != rank[groups[j].Kind] {
			return rank[groups[i].Kind] < rank[groups[j].Kind]
		}
		return groups[i].Reminder < groups[j].Reminder
	})
	return groups
}

// TemplateKind is the template that renders the group: the job kind, with
// the last reminder of a final schedule and the edit of a resolved firing
// message told apart.
func (g Group) TemplateKind() render.Kind {
	switch g.Kind {
	case store.KindReminder:
		if g.Final {
			return render.FinalReminder
		}
		return render.Reminder
	case store.KindResolved:
		return render.Resolved
	case store.KindEdit:
		return render.ResolvedEdit
	}
	return render.Firing
}

// RenderData is what the templates of the group see.
func (g Group) RenderData() render.Data {
	d := render.Data{Kind: g.TemplateKind(), Route: g.Dest.Name, Alerts: g.Alerts, Now: g.Now,
		Reminder: g.Reminder, Reminders: len(g.Dest.Reminders.After)}
	if g.Data != nil {
		d.Receiver, d.ExternalURL = g.Data.Receiver, g.Data.ExternalURL
	}
	return d
}
