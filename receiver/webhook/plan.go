package webhook

import (
	"fmt"
	"sort"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/receiver/render"
	"github.com/downtime-detector/downtime/receiver/store"
)

// Destination is where a route sends and its reminder policy.
type Destination struct {
	Route           string
	ChatID          string
	ThreadID        int
	Reminders       Schedule
	Silent          bool // every message without notification sound
	SilentReminders bool
}

// Schedule is when reminders are due.
type Schedule struct {
	After []time.Duration // ascending downtimes at which reminder 1..n is due
	Final bool            // the last reminder says "no more reminders until it recovers"
}

// Decision is what one alert needs now.
type Decision struct {
	Kind     store.Kind // "" when nothing is due
	Reminder int        // reminders: 1-based index into Destination.Reminders
	Final    bool       // the last reminder: nothing more until resolved
	Edit     bool       // resolved: also edit the firing message
	State    store.AlertState
}

// Decide is the reminder/resolve logic for one alert, a pure function of the
// alert, what was already queued for it (st) and now:
//   - firing, not yet notified: a firing message; reminders whose threshold
//     already passed are counted as done (the firing message shows the duration);
//   - firing, notified: reminder i when the downtime passed threshold i and i
//     is above the last reminder queued (intermediate ones are skipped);
//   - resolved, not yet notified: a resolved reply, plus an edit of the firing
//     message when one was queued;
//   - anything else (a repeat, a stale firing after resolved): nothing.
func Decide(a template.Alert, st store.AlertState, sched Schedule, now time.Time) Decision {
	d := Decision{State: st}
	d.State.Updated = now
	if st.Resolved {
		return d
	}
	// Measured from the real start (render.Since: downtime_since, else
	// startsAt minus downtime_for), like the durations in the messages.
	passed := thresholdsPassed(sched.After, now.Sub(render.Since(a)))
	switch {
	case a.Status == "resolved":
		d.Kind, d.Edit, d.State.Resolved = store.KindResolved, st.Firing, true
	case !st.Firing:
		d.Kind, d.State.Firing, d.State.Reminder = store.KindFiring, true, passed
	case passed > st.Reminder:
		d.Kind, d.Reminder, d.Final = store.KindReminder, passed, sched.Final && passed == len(sched.After)
		d.State.Reminder = passed
	}
	return d
}

func thresholdsPassed(reminders []time.Duration, down time.Duration) int {
	n := 0
	for _, r := range reminders {
		if down >= r {
			n++
		}
	}
	return n
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
	Dest     Destination
	Reminder int
	Final    bool
	Alerts   []template.Alert
	Data     *template.Data // the whole notification, for common labels and URLs
	Now      time.Time
}

type planned struct {
	alert template.Alert
	dest  Destination
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
		k := gk{p.dest.Route, kind, p.dec.Reminder}
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
