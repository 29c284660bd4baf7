package digest

import (
	"fmt"
	"github.com/downtime-detector/downtime/internal/golden"
	"strings"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/incident"
	"github.com/downtime-detector/downtime/receiver/render"
)

func TestBuildGolden(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	sched := Schedule{Period: Daily, Hour: 8, Location: berlin}
	at := time.Date(2026, 11, 24, 8, 0, 0, 0, berlin)
	span := sched.Span(at)
	h := func(hours float64) time.Time { return at.Add(time.Duration(hours * float64(time.Hour))) }
	day := []incident.Incident{
		{ID: 5, Target: "nas.example.lan", Start: h(-1.25), AcknowledgedBy: "@alice"},
		{ID: 4, Target: "db1.example.lan", Start: h(-5), End: h(-4.3)},
		{ID: 3, Target: "db1.example.lan", Start: h(-4.5), End: h(-4)}, // overlaps: 1h total for db1
		{ID: 2, Target: "<b>evil</b> & co", Start: h(-10), End: h(-9.5), SilencedBy: "<i>mallory</i>"},
		{ID: 1, Target: "printer", Start: h(-26), End: h(-23)}, // began before the period: 1h within it
	}
	var many []incident.Incident
	for i := range 40 {
		many = append(many, incident.Incident{ID: uint64(i + 1), Target: fmt.Sprintf("host%02d", i), Start: h(-float64(i%20) - 2), End: h(-float64(i%20) - 1.5)})
	}
	weekly := Schedule{Period: Weekly, Weekday: time.Monday, Hour: 9, Location: berlin}
	wAt := time.Date(2026, 11, 23, 9, 0, 0, 0, berlin)
	for _, tc := range []struct {
		name string
		in   Input
		send bool
	}{
		{"daily", Input{Period: Daily, Span: span, Incidents: day, Now: at, Location: berlin}, true},
		{"quiet-line", Input{Period: Daily, Span: span, Now: at, Location: berlin, QuietLine: "All quiet <3"}, true},
		{"quiet-silent", Input{Period: Daily, Span: span, Now: at, Location: berlin}, false},
		{"still-down-only", Input{Period: Daily, Span: span, Incidents: day[:1], Now: at, Location: berlin}, true},
		{"weekly", Input{Period: Weekly, Span: weekly.Span(wAt), Now: wAt, Location: berlin,
			Incidents: []incident.Incident{{ID: 9, Target: "nas.example.lan", Start: wAt.Add(-50 * time.Hour), End: wAt.Add(-48 * time.Hour)}}}, true},
		{"many", Input{Period: Daily, Span: span, Incidents: many, Now: at, Location: berlin, MaxIncidents: 5}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, send := Build(tc.in)
			if send != tc.send {
				t.Fatalf("send: got %v, want %v", send, tc.send)
			}
			if !send {
				if got != "" {
					t.Errorf("nothing to send, but got %q", got)
				}
				return
			}
			if err := render.Validate(got); err != nil {
				t.Errorf("not valid Telegram HTML: %v\n%s", err, got)
			}
			if n := render.Length(got); n > render.MaxLength {
				t.Errorf("length %d > %d", n, render.MaxLength)
			}
			golden.Compare(t, tc.name+".html", []byte(got+"\n"))
		})
	}
}

func TestBuildEscapes(t *testing.T) {
	at := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	got, _ := Build(Input{
		Span: incident.Span{From: at.Add(-24 * time.Hour), To: at}, Now: at,
		Incidents: []incident.Incident{{Target: `<a href="x">x</a>`, Start: at.Add(-time.Hour), End: at.Add(-time.Minute)}},
	})
	if strings.Contains(got, "<a") || !strings.Contains(got, "&lt;a href=&quot;x&quot;&gt;x&lt;/a&gt;") {
		t.Errorf("target not escaped: %s", got)
	}
}

func TestBuildLongestFits(t *testing.T) {
	at := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	long := strings.Repeat("h", 60)
	var incs []incident.Incident
	for i := range 500 {
		incs = append(incs, incident.Incident{Target: fmt.Sprintf("%s%03d", long, i), Start: at.Add(-2 * time.Hour), End: at.Add(-time.Hour),
			AcknowledgedBy: "@someone", SilencedBy: "@someone-else"})
	}
	got, _ := Build(Input{Span: incident.Span{From: at.Add(-24 * time.Hour), To: at}, Now: at, Incidents: incs})
	if n := render.Length(got); n > render.MaxLength {
		t.Errorf("500 incidents: got length %d, want at most %d", n, render.MaxLength)
	}
	listed, more := strings.Count(got, "\n• "), 0
	if _, err := fmt.Sscanf(got[strings.LastIndex(got, "… and "):], "… and %d more", &more); err != nil {
		t.Fatalf("no \"… and N more\" line: %v\n%s", err, got)
	}
	if listed+more != 500 || listed > DefaultMaxIncidents {
		t.Errorf("got %d listed + %d more, want 500 with at most %d listed", listed, more, DefaultMaxIncidents)
	}
	if err := render.Validate(got); err != nil {
		t.Errorf("not valid Telegram HTML: %v", err)
	}
}
