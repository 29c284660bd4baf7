package render

import (
	"errors"
	"fmt"
	"strings"
	"text/template"
	"time"

	amtemplate "github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"github.com/downtime-detector/downtime/receiver/config"
)

// MaxLength is Telegram's message limit: 4096 code points of the text after
// entity parsing. The renderer measures it with Length, on the raw HTML.
const MaxLength = 4096

// MaxEntities is how many formatting entities (tags) Telegram applies in one
// message; it silently ignores the rest, so messages are split before.
const MaxEntities = 100

// ForKey is the annotation (or label) that carries the rule's "for:".
const ForKey = "downtime_for"

// SinceKey is the annotation (or label) that carries when the downtime
// began, in unix seconds ("1700000000.250"), e.g. the host's last reply
// read by the rule's template. It takes precedence over [ForKey].
const SinceKey = "downtime_since"

// MaxSinceAge is how far before StartsAt a [SinceKey] value may lie; an
// older one is taken as wrong (a stale series, a clock far off), not as
// the start of the downtime.
const MaxSinceAge = 30 * 24 * time.Hour

// DownAlert is the alertname whose messages say "<host> is down" (see
// Alert.Down); rules/downtime.rules.yml defines it.
const DownAlert = "HostDown"

// Kind is the kind of message, also the name of its template.
type Kind string

// Kinds of messages.
const (
	Firing        Kind = "firing"
	Reminder      Kind = "reminder"
	FinalReminder Kind = "final_reminder"
	Resolved      Kind = "resolved"
	// ResolvedEdit is the firing message edited once resolved. Pass the
	// alerts of that one message: resolved ones render with the
	// resolved_edit template, still firing ones with the firing template.
	// The result is always exactly one message.
	ResolvedEdit Kind = "resolved_edit"
	// HeartbeatLost and HeartbeatBack are the receiver's own messages
	// about Alertmanager's heartbeat (receiver/heartbeat): see
	// heartbeat.go.
	HeartbeatLost Kind = "heartbeat_lost"
	HeartbeatBack Kind = "heartbeat_back"
)

// Kinds lists every Kind.
var Kinds = []Kind{Firing, Reminder, FinalReminder, Resolved, ResolvedEdit, HeartbeatLost, HeartbeatBack}

// Data is one notification to render.
type Data struct {
	Kind     Kind
	Receiver string // Alertmanager receiver name
	Route    string // route name, "" for the default chat
	Alerts   []amtemplate.Alert
	// Now is the time firing and reminder durations are measured to (and
	// resolved ones without EndsAt).
	Now time.Time
	// Reminder is the reminder number (1-based) and Reminders the number
	// of reminders in the schedule, for Reminder and FinalReminder.
	Reminder, Reminders int
	ExternalURL         string
}

// Message is one Telegram message.
type Message struct {
	Text string // Telegram HTML, Length(Text) <= MaxLength
	// Alerts are the indexes in Data.Alerts of the alerts in this message.
	Alerts []int
}

// Renderer renders messages. It is safe for concurrent use.
type Renderer struct {
	tmpl   *template.Template
	user   map[Kind]bool
	loc    *time.Location
	layout string
	limit  int
	// maxAlerts and maxMessages cap one Render (flood.go).
	maxAlerts, maxMessages int
}

// New parses the user's templates (empty ones mean the built-ins) with the
// time zone and Go time layout used by formatTime. Parse errors name the
// template and its line.
func New(cfg config.Templates, loc *time.Location, layout string) (*Renderer, error) {
	if loc == nil {
		loc = time.Local
	}
	if layout == "" {
		layout = config.DefaultTimeFormat
	}
	r := &Renderer{user: map[Kind]bool{}, loc: loc, layout: layout, limit: MaxLength,
		maxAlerts: MaxAlertsPerMessage, maxMessages: MaxMessages}
	r.tmpl = template.New("").Option("missingkey=zero").Funcs(r.funcs())
	if _, err := r.tmpl.New("builtin.helpers").Parse(helpers); err != nil {
		return nil, fmt.Errorf("built-in helper templates: %w", err)
	}
	for _, k := range Kinds {
		if _, err := r.tmpl.New("builtin." + string(k)).Parse(builtins[k]); err != nil {
			return nil, fmt.Errorf("built-in template %q: %w", k, err)
		}
	}
	for _, k := range Kinds {
		text, origin := cfg.Source(string(k))
		if text == "" {
			continue
		}
		if _, err := r.tmpl.New(string(k)).Parse(text); err != nil {
			return nil, fmt.Errorf("template %q (%s): %w", k, origin, err)
		}
		r.user[k] = true
	}
	if err := r.trial(); err != nil {
		return nil, err
	}
	return r, nil
}

// trial renders every user template with a sample alert, so that a template
// whose own markup is not valid Telegram HTML ("<span>", "<b>" unclosed) is
// refused when the configuration is loaded (--config.check), not at the
// first alert. Execution errors are left to Render: they may depend on the
// alert.
func (r *Renderer) trial() error {
	now := time.Date(2026, 11, 24, 19, 14, 11, 0, time.UTC)
	a := amtemplate.Alert{Status: string(model.AlertFiring), StartsAt: now.Add(-12 * time.Minute),
		Labels:      amtemplate.KV{"alertname": "HostDown", "job": "ping", "severity": "critical", "target": "db1.example.com"},
		Annotations: amtemplate.KV{"summary": "db1.example.com does not answer ping"}}
	for _, k := range Kinds {
		if !r.user[k] {
			continue
		}
		d := Data{Kind: k, Alerts: []amtemplate.Alert{a}, Now: now, Reminder: 1, Reminders: 3}
		if k == Resolved || k == ResolvedEdit || k == HeartbeatBack {
			d.Alerts[0].Status, d.Alerts[0].EndsAt = string(model.AlertResolved), now
		}
		var b strings.Builder
		if r.tmpl.ExecuteTemplate(&b, string(k), r.context(d, 0, 0)) != nil {
			continue
		}
		if err := Validate(strings.TrimSpace(b.String())); err != nil {
			return fmt.Errorf("template %q produced invalid Telegram HTML: %w", k, err)
		}
	}
	return nil
}

// FromConfig is New with the configuration's templates, time zone and
// time format. Call it when loading the configuration (and --config.check)
// so template errors surface at start.
func FromConfig(cfg *config.Config) (*Renderer, error) {
	return New(cfg.Templates, cfg.Location(), cfg.Format())
}

func (r *Renderer) funcs() template.FuncMap {
	f := template.FuncMap(amtemplate.DefaultFuncs)
	out := template.FuncMap{}
	for k, v := range f {
		out[k] = v
	}
	out["duration"] = Duration
	out["htmlEscape"] = Escape
	out["formatTime"] = r.formatTime
	out["timeRange"] = r.timeRange
	return out
}

// formatTime formats t in the configured zone, with the configured layout
// or the one given.
func (r *Renderer) formatTime(t time.Time, layout ...string) string {
	l := r.layout
	if len(layout) > 0 {
		l = layout[0]
	}
	return t.In(r.loc).Format(l)
}

// timeRange formats "from → to", only the clock of "to" when both are on
// the same day.
func (r *Renderer) timeRange(from, to time.Time) string {
	a, b := from.In(r.loc), to.In(r.loc)
	if a.YearDay() == b.YearDay() && a.Year() == b.Year() {
		return a.Format("15:04:05") + " → " + b.Format("15:04:05")
	}
	return r.formatTime(a) + " → " + r.formatTime(b)
}

// Render renders d into one or more messages, split between alert blocks.
// With only built-in templates it fails only when d has no alerts; a user
// template can also fail to execute or produce invalid HTML (the error names
// the template).
func (r *Renderer) Render(d Data) ([]Message, error) {
	if len(d.Alerts) == 0 {
		return nil, errors.New("render: no alerts")
	}
	if _, ok := builtins[d.Kind]; !ok {
		return nil, fmt.Errorf("render: unknown kind %q", d.Kind)
	}
	blocks := make([]string, len(d.Alerts))
	for i := range d.Alerts {
		b, err := r.block(d, i, r.limit)
		if err != nil {
			return nil, err
		}
		blocks[i] = b
	}
	if d.Kind == ResolvedEdit {
		return r.single(d, blocks)
	}
	msgs := r.capMessages(d, blocks)
	if len(msgs) == 0 {
		return nil, fmt.Errorf("render: template %q produced empty messages", d.Kind)
	}
	return msgs, nil
}

// single makes a ResolvedEdit one message: if the blocks do not fit
// together, each is rendered again within an equal share of the limit.
func (r *Renderer) single(d Data, blocks []string) ([]Message, error) {
	all := make([]int, len(blocks))
	for i := range all {
		all[i] = i
	}
	if msgs := pack(blocks, r.limit, 0); len(msgs) == 1 {
		msgs[0].Alerts = all
		return msgs, nil
	}
	share := max((r.limit-2*(len(blocks)-1))/len(blocks), 1)
	for i := range blocks {
		b, err := r.block(d, i, share)
		if err != nil {
			return nil, err
		}
		blocks[i] = b
	}
	text := strings.Join(blocks, "\n\n")
	if Length(text) > r.limit {
		text = plainTruncate(text, r.limit)
	}
	return []Message{{Text: text, Alerts: all}}, nil
}

// pack joins blocks greedily into messages of at most limit units,
// MaxEntities tags and maxAlerts blocks (0: no limit). Empty blocks are
// dropped.
func pack(blocks []string, limit, maxAlerts int) []Message {
	var (
		msgs    []Message
		cur     strings.Builder
		idx     []int
		n, ents int
	)
	flush := func() {
		if len(idx) > 0 {
			msgs = append(msgs, Message{Text: cur.String(), Alerts: idx})
		}
		cur.Reset()
		idx, n, ents = nil, 0, 0
	}
	for i, b := range blocks {
		if b == "" {
			continue
		}
		l, e := Length(b), entities(b)
		if len(idx) > 0 && (n+2+l > limit || ents+e > MaxEntities || (maxAlerts > 0 && len(idx) >= maxAlerts)) {
			flush()
		}
		if len(idx) > 0 {
			cur.WriteString("\n\n")
			n += 2
		}
		cur.WriteString(b)
		n, ents = n+l, ents+e
		idx = append(idx, i)
	}
	flush()
	return msgs
}

// entities counts the opening tags of well-formed HTML (text has no bare '<').
func entities(s string) int {
	return strings.Count(s, "<") - strings.Count(s, "</")
}

// block renders alert i of d, truncating values harder until it fits in
// limit, and plain-truncating the text as a last resort.
func (r *Renderer) block(d Data, i, limit int) (string, error) {
	kind := d.Kind
	if kind == ResolvedEdit && d.Alerts[i].Status != string(model.AlertResolved) {
		kind = Firing
	}
	var s string
	for _, max := range []int{0, 1024, 256, 64, 16} {
		var err error
		if s, err = r.exec(kind, r.context(d, i, max)); err != nil {
			return "", err
		}
		if Length(s) <= limit {
			return s, nil
		}
	}
	return plainTruncate(s, limit), nil
}

func (r *Renderer) exec(kind Kind, c Context) (string, error) {
	name := "builtin." + string(kind)
	if r.user[kind] {
		name = string(kind)
	}
	var b strings.Builder
	if err := r.tmpl.ExecuteTemplate(&b, name, c); err != nil {
		return "", fmt.Errorf("template %q: %w", kind, err)
	}
	s := strings.TrimSpace(b.String())
	if r.user[kind] {
		if err := Validate(s); err != nil {
			return "", fmt.Errorf("template %q produced invalid Telegram HTML: %w", kind, err)
		}
	}
	return s, nil
}
