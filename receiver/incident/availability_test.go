package incident

import (
	"math"
	"testing"
	"time"
	_ "time/tzdata" // time zone tests must not depend on the host's zoneinfo
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func at(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }

func inc(target string, start, end float64) Incident {
	i := Incident{Target: target, Start: at(start)}
	if !math.IsNaN(end) {
		i.End = at(end)
	}
	return i
}

var open = math.NaN()

func TestDowntime(t *testing.T) {
	span := Span{From: at(0), To: at(10)}
	for _, tc := range []struct {
		name string
		incs []Incident
		span Span
		now  time.Time
		want time.Duration
	}{
		{"none", nil, span, at(10), 0},
		{"one inside", []Incident{inc("a", 1, 2)}, span, at(10), time.Hour},
		{"overlapping merged", []Incident{inc("a", 1, 3), inc("a", 2, 4)}, span, at(10), 3 * time.Hour},
		{"nested merged", []Incident{inc("a", 1, 5), inc("a", 2, 3)}, span, at(10), 4 * time.Hour},
		{"touching merged", []Incident{inc("a", 1, 2), inc("a", 2, 3)}, span, at(10), 2 * time.Hour},
		{"disjoint summed", []Incident{inc("a", 5, 6), inc("a", 1, 2)}, span, at(10), 2 * time.Hour},
		{"clipped at start", []Incident{inc("a", -3, 1)}, span, at(10), time.Hour},
		{"clipped at end", []Incident{inc("a", 9, 12)}, span, at(12), time.Hour},
		{"before span", []Incident{inc("a", -3, -1)}, span, at(10), 0},
		{"after span", []Incident{inc("a", 11, 12)}, span, at(12), 0},
		{"open counts up to now", []Incident{inc("a", 8, open)}, span, at(9.5), 90 * time.Minute},
		{"open clipped at span end", []Incident{inc("a", 8, open)}, span, at(20), 2 * time.Hour},
		{"open spanning everything", []Incident{inc("a", -5, open)}, span, at(20), 10 * time.Hour},
		{"span in the future ends at now", []Incident{inc("a", 1, 2), inc("a", 3, open)}, span, at(5), 3 * time.Hour},
		{"open overlapping resolved", []Incident{inc("a", 1, 4), inc("a", 3, open)}, span, at(6), 5 * time.Hour},
		{"end after now (clock skew) ends at now", []Incident{inc("a", 1, 8)}, span, at(5), 4 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Downtime(tc.incs, tc.span, tc.now); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAvailability(t *testing.T) {
	for _, tc := range []struct {
		name string
		incs []Incident
		span Span
		now  time.Time
		want float64
	}{
		{"all up", nil, Span{at(0), at(10)}, at(10), 1},
		{"all down", []Incident{inc("a", -1, open)}, Span{at(0), at(10)}, at(10), 0},
		{"10 percent", []Incident{inc("a", 1, 2)}, Span{at(0), at(10)}, at(10), 0.9},
		{"half of the elapsed part", []Incident{inc("a", 1, 2)}, Span{at(0), at(10)}, at(2), 0.5},
		{"not begun", []Incident{inc("a", 1, 2)}, Span{at(5), at(10)}, at(2), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Availability(tc.incs, tc.span, tc.now); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestByHost(t *testing.T) {
	now := at(0)
	incs := []Incident{
		inc("nas", -1, -0.5),     // 30m in 24h
		inc("nas", -48, -47),     // 1h in 7d
		inc("nas", -24*20, open), // ... but an open one covers 20 days
		inc("db", -24*10, -24*9), // 24h in 30d only
		inc("db", -0.25, open),   // 15m, open
		inc("db", -0.20, -0.10),  // inside the open one: merged
	}
	got := ByHost(incs, DefaultWindows, now)
	if len(got) != 2 || got[0].Target != "db" || got[1].Target != "nas" {
		t.Fatalf("got targets %+v, want db, nas", got)
	}
	want := map[string][]WindowStat{
		"db": {
			{Window: "24h", Downtime: 15 * time.Minute, Incidents: 2},
			{Window: "7d", Downtime: 15 * time.Minute, Incidents: 2},
			{Window: "30d", Downtime: 24*time.Hour + 15*time.Minute, Incidents: 3},
		},
		"nas": {
			{Window: "24h", Downtime: 24 * time.Hour, Incidents: 2},
			{Window: "7d", Downtime: 7 * 24 * time.Hour, Incidents: 3},
			{Window: "30d", Downtime: 20 * 24 * time.Hour, Incidents: 3},
		},
	}
	for _, hs := range got {
		for i, w := range hs.Windows {
			ww := want[hs.Target][i]
			if w.Window != ww.Window || w.Downtime != ww.Downtime || w.Incidents != ww.Incidents {
				t.Errorf("%s: got %+v, want %+v", hs.Target, w, ww)
			}
			length := DefaultWindows[i].Length
			if a := 1 - float64(ww.Downtime)/float64(length); math.Abs(w.Availability-a) > 1e-12 {
				t.Errorf("%s %s: got availability %v, want %v", hs.Target, w.Window, w.Availability, a)
			}
		}
	}
}

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestDays(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	for _, tc := range []struct {
		name     string
		now      time.Time
		loc      *time.Location
		n        int
		from, to string
		hours    float64
	}{
		{"yesterday UTC", time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC), time.UTC, 1,
			"2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z", 24},
		{"yesterday Berlin, still the 23rd in UTC", time.Date(2026, 11, 23, 23, 30, 0, 0, time.UTC), berlin, 1,
			"2026-11-23T00:00:00+01:00", "2026-11-24T00:00:00+01:00", 24},
		{"spring forward day lasts 23h", time.Date(2026, 3, 30, 9, 0, 0, 0, berlin), berlin, 1,
			"2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", 23},
		{"fall back day lasts 25h", time.Date(2026, 10, 26, 9, 0, 0, 0, berlin), berlin, 1,
			"2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", 25},
		{"week across fall back", time.Date(2026, 10, 26, 9, 0, 0, 0, berlin), berlin, 7,
			"2026-10-19T00:00:00+02:00", "2026-10-26T00:00:00+01:00", 7*24 + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Days(tc.now, tc.loc, tc.n)
			if got := s.From.Format(time.RFC3339); got != tc.from {
				t.Errorf("from: got %s, want %s", got, tc.from)
			}
			if got := s.To.Format(time.RFC3339); got != tc.to {
				t.Errorf("to: got %s, want %s", got, tc.to)
			}
			if got := s.To.Sub(s.From).Hours(); got != tc.hours {
				t.Errorf("length: got %vh, want %vh", got, tc.hours)
			}
		})
	}
}

func TestDaily(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	// Down from 23:00 to 01:00 Berlin time across midnight; the day of the
	// DST change (2026-10-25) lasts 25 hours.
	incs := []Incident{{
		Target: "nas",
		Start:  time.Date(2026, 10, 24, 23, 0, 0, 0, berlin),
		End:    time.Date(2026, 10, 25, 1, 0, 0, 0, berlin),
	}}
	now := time.Date(2026, 10, 26, 12, 0, 0, 0, berlin)
	days := Daily(incs, Days(now, berlin, 2), berlin, now)
	if len(days) != 2 {
		t.Fatalf("got %d days, want 2", len(days))
	}
	for i, want := range []struct {
		day      string
		down     time.Duration
		availNum float64
	}{
		{"2026-10-24", time.Hour, 23.0 / 24},
		{"2026-10-25", time.Hour, 24.0 / 25},
	} {
		d := days[i]
		if got := d.Day.Format(time.DateOnly); got != want.day {
			t.Errorf("day %d: got %s, want %s", i, got, want.day)
		}
		if d.Downtime != want.down {
			t.Errorf("%s: got downtime %v, want %v", want.day, d.Downtime, want.down)
		}
		if math.Abs(d.Availability-want.availNum) > 1e-12 {
			t.Errorf("%s: got availability %v, want %v", want.day, d.Availability, want.availNum)
		}
	}
}
