package statuspage

import (
	"context"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/incident"
)

// now is the fixed clock of every test here.
var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

const hostile = `<script>alert("x")</script><img src=x onerror=alert(1)>`

// fixtureLog is a log with one host down now (acknowledged), one resolved
// incident with a hostile label, and older history.
func fixtureLog(t *testing.T) *incident.Memory {
	t.Helper()
	ctx := context.Background()
	l := incident.NewMemory()
	open := func(route, fp, target string, start time.Time, labels map[string]string) incident.Incident {
		t.Helper()
		inc, err := l.Open(ctx, incident.Incident{
			Key: incident.Key{Route: route, Fingerprint: fp}, Target: target, AlertName: "HostDown",
			Labels: labels, Start: start,
		})
		if err != nil {
			t.Fatal(err)
		}
		return inc
	}
	resolve := func(inc incident.Incident, end time.Time) {
		t.Helper()
		if _, err := l.Resolve(ctx, inc.Key, end); err != nil {
			t.Fatal(err)
		}
	}
	nas := open("ops", "fp-nas", "nas.example.lan", now.Add(-75*time.Minute),
		map[string]string{"alertname": "HostDown", "target": "nas.example.lan", "job": "ping"})
	if _, err := l.Annotate(ctx, nas.ID, incident.Note{AcknowledgedBy: "@alice"}); err != nil {
		t.Fatal(err)
	}
	db := open("ops", "fp-db", "db1.example.lan", now.Add(-3*time.Hour),
		map[string]string{"alertname": "HostDown", "target": "db1.example.lan", "note": hostile})
	resolve(db, now.Add(-3*time.Hour+42*time.Minute))
	printer := open("family", "fp-printer", "printer.example.lan", now.Add(-5*24*time.Hour),
		map[string]string{"alertname": "HostDown", "target": "printer.example.lan"})
	resolve(printer, now.Add(-5*24*time.Hour+2*time.Hour))
	// Older than every window: not on the page.
	old := open("ops", "fp-old", "old.example.lan", now.Add(-60*24*time.Hour), nil)
	resolve(old, now.Add(-59*24*time.Hour))
	return l
}

func newPage(t *testing.T, l incident.Lister, cfg Config) *Page {
	t.Helper()
	p, err := New(l, cfg, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return p
}
