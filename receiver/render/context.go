package render

import (
	"strings"
	"time"

	amtemplate "github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"
)

// hostLabels are the labels that name the host, first present wins; the
// alertname is the fallback.
var hostLabels = []string{"target", "instance", "host"}

// Context is what a template executes against: one alert and the facts of
// the notification. String fields coming from labels and annotations are
// HTML-escaped (and may be truncated with "…" when the message is too long).
type Context struct {
	Alert
	Kind     Kind
	Receiver string
	Route    string
	Now      time.Time
	// Reminder (1-based) of Reminders, for reminder and final_reminder.
	Reminder, Reminders int
	// Index (1-based) of this alert in the notification, of Count alerts.
	Index, Count int
	ExternalURL  string
}

// Alert is an Alertmanager alert with values escaped and the downtime
// worked out.
type Alert struct {
	// Labels and Annotations hold HTML-escaped values (and keys).
	amtemplate.Alert
	// Host is the first label present of target, instance and host, else
	// the alertname.
	Host string
	// Summary and Description are those annotations.
	Summary, Description string
	// LabelText is the labels but the host one, compact:
	// "alertname=HostDown, job=ping".
	LabelText string
	// Since is when the downtime began: StartsAt minus the downtime_for
	// annotation/label, if any.
	Since time.Time
	// Until is EndsAt (or Data.Now without one) for resolved alerts, else
	// zero.
	Until time.Time
	// Duration is Until (or Data.Now while firing) minus Since.
	Duration time.Duration
}

// context builds the template context for alert i of d, every value cut to
// max runes (0: no limit).
func (r *Renderer) context(d Data, i, max int) Context {
	a := d.Alerts[i]
	esc := func(s string) string { return Escape(truncate(s, max)) }
	hostKey := ""
	for _, k := range hostLabels {
		if a.Labels[k] != "" {
			hostKey = k
			break
		}
	}
	host := a.Labels[hostKey]
	if hostKey == "" {
		host = a.Labels[model.AlertNameLabel]
	}
	if host == "" {
		host = "alert"
	}
	out := Alert{
		Alert:       a,
		Host:        esc(host),
		Summary:     esc(a.Annotations["summary"]),
		Description: esc(a.Annotations["description"]),
		LabelText:   labelText(a.Labels, hostKey, esc),
	}
	out.Labels = escapeKV(a.Labels, esc)
	out.Annotations = escapeKV(a.Annotations, esc)
	out.GeneratorURL = esc(a.GeneratorURL)
	resolved := a.Status == string(model.AlertResolved) || d.Kind == Resolved
	out.Since, out.Until, out.Duration = downtime(a, d.Now, resolved)
	return Context{
		Alert: out, Kind: d.Kind, Receiver: Escape(d.Receiver), Route: Escape(d.Route),
		Now: d.Now, Reminder: d.Reminder, Reminders: d.Reminders,
		Index: i + 1, Count: len(d.Alerts), ExternalURL: Escape(d.ExternalURL),
	}
}

func escapeKV(kv amtemplate.KV, esc func(string) string) amtemplate.KV {
	out := make(amtemplate.KV, len(kv))
	for k, v := range kv {
		out[esc(k)] = esc(v)
	}
	return out
}

func labelText(kv amtemplate.KV, skip string, esc func(string) string) string {
	var parts []string
	for _, p := range kv.SortedPairs() {
		if p.Name == skip {
			continue
		}
		parts = append(parts, esc(p.Name)+"="+esc(p.Value))
	}
	return strings.Join(parts, ", ")
}

// Since returns when the downtime of a began: StartsAt moved back by the
// duration in its downtime_for annotation (or label), if any and valid
// (Prometheus durations: "90s", "1m", "1h30m"). Measure reminders from it.
func Since(a amtemplate.Alert) time.Time {
	forVal := a.Annotations[ForKey]
	if forVal == "" {
		forVal = a.Labels[ForKey]
	}
	if f, err := model.ParseDuration(strings.TrimSpace(forVal)); err == nil && f > 0 {
		return a.StartsAt.Add(-time.Duration(f))
	}
	return a.StartsAt
}

// downtime works out when the downtime began and ended and how long it
// lasted, from the alert alone (and now while it is firing).
func downtime(a amtemplate.Alert, now time.Time, resolved bool) (since, until time.Time, d time.Duration) {
	since = Since(a)
	end := now
	if end.IsZero() {
		end = time.Now()
	}
	if resolved && !a.EndsAt.IsZero() {
		end = a.EndsAt
	}
	if resolved {
		until = end
	}
	if d = end.Sub(since); d < 0 {
		d = 0
	}
	return since, until, d
}
