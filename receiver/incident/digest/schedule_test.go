package digest

import (
	"testing"
	"time"
	_ "time/tzdata" // time zone tests must not depend on the host's zoneinfo
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestNext(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	daily := func(h, m int) Schedule { return Schedule{Period: Daily, Hour: h, Minute: m, Location: berlin} }
	weekly := func(wd time.Weekday, h, m int) Schedule {
		return Schedule{Period: Weekly, Weekday: wd, Hour: h, Minute: m, Location: berlin}
	}
	b := func(y int, mo time.Month, d, h, mi int) time.Time { return time.Date(y, mo, d, h, mi, 0, 0, berlin) }
	for _, tc := range []struct {
		name string
		s    Schedule
		now  time.Time
		want string // RFC 3339 in Berlin
	}{
		{"later today", daily(8, 0), b(2026, 11, 24, 7, 59), "2026-11-24T08:00:00+01:00"},
		{"exactly now is the next day", daily(8, 0), b(2026, 11, 24, 8, 0), "2026-11-25T08:00:00+01:00"},
		{"tomorrow", daily(8, 0), b(2026, 11, 24, 9, 0), "2026-11-25T08:00:00+01:00"},
		{"local day differs from UTC day", daily(0, 30), time.Date(2026, 11, 24, 23, 10, 0, 0, time.UTC), "2026-11-25T00:30:00+01:00"},
		{"across spring forward keeps 08:00", daily(8, 0), b(2026, 3, 28, 9, 0), "2026-03-29T08:00:00+02:00"},
		{"across fall back keeps 08:00", daily(8, 0), b(2026, 10, 24, 9, 0), "2026-10-25T08:00:00+01:00"},
		{"skipped time runs an hour later", daily(2, 30), b(2026, 3, 28, 9, 0), "2026-03-29T03:30:00+02:00"},
		// 02:30 happens twice that night; Go's time.Date takes the second
		// (CET), and TestNextOncePerDay checks the day gets one digest.
		{"repeated time runs once", daily(2, 30), time.Date(2026, 10, 25, 0, 15, 0, 0, time.UTC), "2026-10-25T02:30:00+01:00"},
		{"weekly later this week", weekly(time.Monday, 9, 0), b(2026, 11, 21, 12, 0), "2026-11-23T09:00:00+01:00"},
		{"weekly today, before", weekly(time.Tuesday, 9, 0), b(2026, 11, 24, 8, 0), "2026-11-24T09:00:00+01:00"},
		{"weekly today, after", weekly(time.Tuesday, 9, 0), b(2026, 11, 24, 10, 0), "2026-12-01T09:00:00+01:00"},
		{"weekly across fall back", weekly(time.Monday, 9, 0), b(2026, 10, 20, 9, 0), "2026-10-26T09:00:00+01:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.s.Check(); err != nil {
				t.Fatal(err)
			}
			got := tc.s.Next(tc.now)
			if s := got.In(berlin).Format(time.RFC3339); s != tc.want {
				t.Errorf("got %s, want %s", s, tc.want)
			}
			if !got.After(tc.now) {
				t.Errorf("next %v is not after now %v", got, tc.now)
			}
		})
	}
}

// TestNextOncePerDay walks a year of digests: every local day gets
// exactly one digest, DST nights included.
func TestNextOncePerDay(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	for _, s := range []Schedule{
		{Period: Daily, Hour: 2, Minute: 30, Location: berlin},
		{Period: Daily, Hour: 8, Minute: 0, Location: berlin},
	} {
		perDay := map[string]int{}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, berlin)
		for i := 0; i < 365; i++ {
			now = s.Next(now)
			perDay[now.In(berlin).Format(time.DateOnly)]++
		}
		// 365 digests on 365 distinct days ending on the 365th day: none
		// skipped, none doubled.
		if last := now.In(berlin).Format(time.DateOnly); len(perDay) != 365 || last != "2026-12-31" {
			t.Errorf("%02d:%02d: got %d distinct days in 365 digests, the last on %s, want 365 ending 2026-12-31",
				s.Hour, s.Minute, len(perDay), last)
		}
	}
}

func TestSpan(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	for _, tc := range []struct {
		name  string
		s     Schedule
		at    time.Time
		from  string
		hours float64
	}{
		{"daily", Schedule{Period: Daily, Hour: 8, Location: berlin}, time.Date(2026, 11, 24, 8, 0, 0, 0, berlin), "2026-11-23T08:00:00+01:00", 24},
		{"daily over fall back", Schedule{Period: Daily, Hour: 8, Location: berlin}, time.Date(2026, 10, 25, 8, 0, 0, 0, berlin), "2026-10-24T08:00:00+02:00", 25},
		{"daily over spring forward", Schedule{Period: Daily, Hour: 8, Location: berlin}, time.Date(2026, 3, 29, 8, 0, 0, 0, berlin), "2026-03-28T08:00:00+01:00", 23},
		{"weekly", Schedule{Period: Weekly, Weekday: time.Monday, Hour: 9, Location: berlin}, time.Date(2026, 11, 23, 9, 0, 0, 0, berlin), "2026-11-16T09:00:00+01:00", 168},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := tc.s.Span(tc.at)
			if got := sp.From.In(berlin).Format(time.RFC3339); got != tc.from {
				t.Errorf("from: got %s, want %s", got, tc.from)
			}
			if !sp.To.Equal(tc.at) || sp.To.Sub(sp.From).Hours() != tc.hours {
				t.Errorf("got %v → %v (%vh), want → %v (%vh)", sp.From, sp.To, sp.To.Sub(sp.From).Hours(), tc.at, tc.hours)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	for _, tc := range []struct {
		s    Schedule
		want string
	}{
		{Schedule{Period: "monthly", Location: berlin}, `digest period "monthly": must be "daily" or "weekly"`},
		{Schedule{Period: Daily, Hour: 24, Location: berlin}, `digest time 24:00: must be between 00:00 and 23:59`},
		{Schedule{Period: Weekly, Weekday: 7, Location: berlin}, `digest weekday 7: must be between 0 (Sunday) and 6`},
		{Schedule{Period: Daily}, `digest: no time zone`},
	} {
		if err := tc.s.Check(); err == nil || err.Error() != tc.want {
			t.Errorf("%+v: got %v, want %q", tc.s, err, tc.want)
		}
	}
}
