package render

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
	// Down is true when the alert says its host is down: alertname
	// HostDown, or no summary that would say what else is wrong. The
	// built-in templates say "is down" only then; other alerts are headed
	// by their summary.
	Down bool
	// Headline is the summary with the host in bold (HTML), or
	// "<b>host</b>: summary" when the summary does not name the host;
	// empty without a summary.
	Headline string
	// LabelText is the labels but the host one, compact:
	// "alertname=HostDown, job=ping".
	LabelText string
	// Since is when the downtime began (see [Since]): downtime_since, else
	// StartsAt minus downtime_for, else StartsAt.
	Since time.Time
	// Until is EndsAt (or Data.Now without one) for resolved alerts, else
	// zero.
	Until time.Time
	// Duration is Until (or Data.Now while firing) minus Since.
	Duration time.Duration
	// Topology is what the topology rules add: the hosts behind a down
	// parent, vantage points, a cut-off prober, a path problem.
	Topology
}

// context builds the template context for alert i of d, every value cut to
// max runes (0: no limit).
func (r *Renderer) context(d Data, i, max int) Context {
	a := d.Alerts[i]
	esc := func(s string) string { return Escape(truncate(s, max)) }
	hostKey, host := hostOf(a.Labels)
	out := Alert{
		Alert:       a,
		Host:        esc(host),
		Summary:     esc(a.Annotations["summary"]),
		Description: esc(a.Annotations["description"]),
		LabelText:   labelText(a.Labels, hostKey, esc),
		Down:        a.Labels[model.AlertNameLabel] == DownAlert || a.Annotations["summary"] == "",
		Headline:    headline(a.Annotations["summary"], host, esc),
		Topology:    topology(a, esc),
	}
	out.Labels = escapeKV(a.Labels, esc)
	out.Annotations = escapeKV(a.Annotations, esc)
	out.GeneratorURL = esc(a.GeneratorURL)
	resolved := a.Status == string(model.AlertResolved) || d.Kind == Resolved || d.Kind == HeartbeatBack
	out.Since, out.Until, out.Duration = downtime(a, d.Now, resolved)
	return Context{
		Alert: out, Kind: d.Kind, Receiver: Escape(d.Receiver), Route: Escape(d.Route),
		Now: d.Now, Reminder: d.Reminder, Reminders: d.Reminders,
		Index: i + 1, Count: len(d.Alerts), ExternalURL: Escape(d.ExternalURL),
	}
}

// Host is the host an alert is about, as the messages name it (raw, not
// escaped): the first label present of target, instance and host, else the
// alertname, else "alert". The incident log records it as the target.
func Host(labels map[string]string) string {
	_, host := hostOf(labels)
	return host
}

// hostOf returns the label naming the host ("" when none does) and the host.
func hostOf(labels map[string]string) (key, host string) {
	for _, k := range hostLabels {
		if labels[k] != "" {
			return k, labels[k]
		}
	}
	if host = labels[model.AlertNameLabel]; host == "" {
		host = "alert"
	}
	return "", host
}

// headline makes the summary the headline of a message, with the host in
// bold where the summary names it as a word of its own, else in front. It
// works on raw values so that no tag lands inside an entity.
func headline(summary, host string, esc func(string) string) string {
	if summary == "" {
		return ""
	}
	if i := wordIndex(summary, host); i >= 0 {
		return esc(summary[:i]) + "<b>" + esc(host) + "</b>" + esc(summary[i+len(host):])
	}
	return "<b>" + esc(host) + "</b>: " + esc(summary)
}

// wordIndex returns the index of the first occurrence of word in s that is
// not part of a longer name ("db1" is not found in "db10" nor in
// "db1.lan"), or -1.
func wordIndex(s, word string) int {
	if word == "" {
		return -1
	}
	for off := 0; off < len(s); {
		i := strings.Index(s[off:], word)
		if i < 0 {
			return -1
		}
		i += off
		if !endsName(s[:i]) && !continuesName(s[i+len(word):]) {
			return i
		}
		off = i + 1
	}
	return -1
}

// continuesName reports whether s, the text after a match, continues a
// host name: a name character, or '.', ':' followed by one ("db1.lan",
// "db1:9100"; not "db1." or "db1: down").
func continuesName(s string) bool {
	r, n := utf8.DecodeRuneInString(s)
	if r == '.' || r == ':' {
		r, _ = utf8.DecodeRuneInString(s[n:])
	}
	return nameRune(r)
}

// endsName is continuesName for the text before a match ("lan.db1").
func endsName(s string) bool {
	r, n := utf8.DecodeLastRuneInString(s)
	if r == '.' || r == ':' {
		r, _ = utf8.DecodeLastRuneInString(s[:len(s)-n])
	}
	return nameRune(r)
}

func nameRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_'
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

// Since returns when the downtime of a began, from its annotations (or
// labels), in this order: downtime_since (unix seconds) when it parses and
// lies within MaxSinceAge before StartsAt (a later one, e.g. a reply after
// the alert fired, says nothing about the start); else StartsAt moved back
// by downtime_for when it is a valid Prometheus duration ("90s", "1m",
// "1h30m"); else StartsAt. Measure reminders from it.
func Since(a amtemplate.Alert) time.Time {
	if t, ok := sinceValue(a); ok {
		return t
	}
	forVal := a.Annotations[ForKey]
	if forVal == "" {
		forVal = a.Labels[ForKey]
	}
	if f, err := model.ParseDuration(strings.TrimSpace(forVal)); err == nil && f > 0 {
		return a.StartsAt.Add(-time.Duration(f))
	}
	return a.StartsAt
}

// sinceValue parses the downtime_since of a and checks it against StartsAt.
func sinceValue(a amtemplate.Alert) (time.Time, bool) {
	v := a.Annotations[SinceKey]
	if v == "" {
		v = a.Labels[SinceKey]
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 || f > math.MaxInt64/1e9 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	t := time.Unix(int64(sec), int64(math.Round(frac*1e3))*1e6) // ms, as Prometheus
	if a.StartsAt.IsZero() || t.After(a.StartsAt) || t.Before(a.StartsAt.Add(-MaxSinceAge)) {
		return time.Time{}, false
	}
	return t, true
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
