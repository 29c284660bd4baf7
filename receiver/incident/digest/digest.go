package digest

import (
	"fmt"
	"strings"
	"time"

	"github.com/downtime-detector/downtime/receiver/incident"
	"github.com/downtime-detector/downtime/receiver/render"
)

// DefaultMaxIncidents caps the incidents listed one per line; the rest are
// counted, so a bad day still fits in one Telegram message.
const DefaultMaxIncidents = 30

// Input is everything a digest says.
type Input struct {
	// Period is "daily" or "weekly", for the heading.
	Period Period
	// Span is the period covered (see Schedule.Span).
	Span incident.Span
	// Incidents are the incidents going on at some time in Span (a List
	// with Since and Until), still open ones included, newest first.
	Incidents []incident.Incident
	// Now is when the digest is built; open incidents last until then.
	Now time.Time
	// Location is the time zone of the times shown.
	Location *time.Location
	// QuietLine is sent when nothing happened and nothing is down; empty:
	// send nothing then. Plain text (escaped).
	QuietLine string
	// MaxIncidents caps the listed incidents (DefaultMaxIncidents if 0).
	MaxIncidents int
}

// Build returns the digest as Telegram HTML, and false when there is
// nothing to send (a quiet period without a QuietLine).
func Build(in Input) (string, bool) {
	if in.Location == nil {
		in.Location = time.UTC
	}
	if in.MaxIncidents <= 0 {
		in.MaxIncidents = DefaultMaxIncidents
	}
	var down, ended []incident.Incident
	for _, inc := range in.Incidents {
		switch {
		case inc.Open() && inc.Start.Before(in.Now):
			down = append(down, inc)
		case !inc.Open() && inc.End.After(in.Span.From) && inc.Start.Before(in.Span.To):
			ended = append(ended, inc)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "📋 <b>%s digest</b> %s\n", heading(in.Period), render.Escape(spanText(in.Span, in.Location)))
	if len(down) == 0 && len(ended) == 0 {
		if in.QuietLine == "" {
			return "", false
		}
		b.WriteString(render.Escape(in.QuietLine))
		return b.String(), true
	}
	total, hosts := totals(in.Incidents, in.Span, in.Now)
	fmt.Fprintf(&b, "%s, %s, total downtime <b>%s</b>\n",
		plural(len(ended)+len(down), "incident"), plural(hosts, "host"), render.Duration(total))
	lines := &lineWriter{b: &b}
	if len(down) > 0 {
		b.WriteString("\n🔴 <b>Still down</b>\n")
		for _, inc := range down {
			lines.add(fmt.Sprintf("• <b>%s</b> since %s (%s)%s\n", target(inc),
				render.Escape(stamp(inc.Start, in.Location)), render.Duration(inc.Duration(in.Now)), who(inc)))
		}
		lines.flush()
	}
	if len(ended) > 0 {
		b.WriteString("\n✅ <b>Resolved</b>\n")
		for i, inc := range ended {
			if i >= in.MaxIncidents {
				lines.omitted++
				continue
			}
			lines.add(fmt.Sprintf("• <b>%s</b> %s → %s (%s)%s\n", target(inc),
				render.Escape(stamp(inc.Start, in.Location)), render.Escape(stamp(inc.End, in.Location)),
				render.Duration(inc.Duration(in.Now)), who(inc)))
		}
		lines.flush()
	}
	return strings.TrimSuffix(b.String(), "\n"), true
}

// maxTargetRunes cuts a host name in a digest line: a label value can be
// of any length.
const maxTargetRunes = 80

func target(inc incident.Incident) string {
	t := inc.Target
	if r := []rune(t); len(r) > maxTargetRunes {
		t = string(r[:maxTargetRunes-1]) + "…"
	}
	return render.Escape(t)
}

// lineWriter adds lines to a digest while it fits in one Telegram message,
// keeping room for the "… and N more" line, and counts the rest.
type lineWriter struct {
	b       *strings.Builder
	omitted int
}

// reserve is room for the "… and N more" lines of both sections.
const reserve = 64

func (w *lineWriter) add(line string) {
	if w.omitted > 0 || render.Length(w.b.String())+render.Length(line)+reserve > render.MaxLength {
		w.omitted++
		return
	}
	w.b.WriteString(line)
}

func (w *lineWriter) flush() {
	if w.omitted > 0 {
		fmt.Fprintf(w.b, "… and %d more\n", w.omitted)
	}
	w.omitted = 0
}

// totals is the downtime within span summed over hosts (overlapping
// incidents of one host count once) and the number of hosts down.
func totals(incs []incident.Incident, span incident.Span, now time.Time) (time.Duration, int) {
	byTarget := map[string][]incident.Incident{}
	for _, inc := range incs {
		byTarget[inc.Target] = append(byTarget[inc.Target], inc)
	}
	var total time.Duration
	hosts := 0
	for _, list := range byTarget {
		if d := incident.Downtime(list, span, now); d > 0 {
			total += d
			hosts++
		}
	}
	return total, hosts
}

func heading(p Period) string {
	if p == Weekly {
		return "Weekly"
	}
	return "Daily"
}

func who(inc incident.Incident) string {
	var parts []string
	if inc.AcknowledgedBy != "" {
		parts = append(parts, "acknowledged by "+render.Escape(inc.AcknowledgedBy))
	}
	if inc.SilencedBy != "" {
		parts = append(parts, "silenced by "+render.Escape(inc.SilencedBy))
	}
	if len(parts) == 0 {
		return ""
	}
	return ", " + strings.Join(parts, ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// stamp is a time for a digest line: "Mon 24 Nov 14:01".
func stamp(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon 2 Jan 15:04")
}

// spanText is the heading's period: "Mon 23 Nov 08:00 → Tue 24 Nov 08:00 CET".
func spanText(s incident.Span, loc *time.Location) string {
	return stamp(s.From, loc) + " → " + s.To.In(loc).Format("Mon 2 Jan 15:04 MST")
}
