package incident

import (
	"slices"
	"time"
)

// Span is the period [From, To).
type Span struct {
	From, To time.Time
}

// Rolling is the span of length d ending at now: the last 24 hours, 7 days.
func Rolling(now time.Time, d time.Duration) Span {
	return Span{From: now.Add(-d), To: now}
}

// Days is the span of n whole calendar days in loc ending with the day
// before the one holding now: yesterday for n = 1. Days are calendar days,
// so one with a DST change lasts 23 or 25 hours.
func Days(now time.Time, loc *time.Location, n int) Span {
	t := now.In(loc)
	today := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	return Span{From: time.Date(t.Year(), t.Month(), t.Day()-n, 0, 0, 0, 0, loc), To: today}
}

// Window is a named rolling period availability is computed over.
type Window struct {
	Name   string        `json:"name"`
	Length time.Duration `json:"-"`
}

// DefaultWindows are the periods of the status page: 24 h, 7 d and 30 d.
var DefaultWindows = []Window{
	{Name: "24h", Length: 24 * time.Hour},
	{Name: "7d", Length: 7 * 24 * time.Hour},
	{Name: "30d", Length: 30 * 24 * time.Hour},
}

// MaxWindow is the longest of windows (what to List to compute them).
func MaxWindow(windows []Window) time.Duration {
	var d time.Duration
	for _, w := range windows {
		d = max(d, w.Length)
	}
	return d
}

// Downtime is how long, within span, at least one of incs was going on:
// overlapping incidents count once, an open incident lasts until now, and
// the span ends at now at the latest (the future is not downtime).
// Callers pass the incidents of one host.
func Downtime(incs []Incident, span Span, now time.Time) time.Duration {
	to := span.To
	if to.After(now) {
		to = now
	}
	type iv struct{ from, to time.Time }
	var ivs []iv
	for _, inc := range incs {
		end := inc.End
		if inc.Open() || end.After(now) {
			end = now
		}
		from := maxTime(inc.Start, span.From)
		end = minTime(end, to)
		if end.After(from) {
			ivs = append(ivs, iv{from, end})
		}
	}
	slices.SortFunc(ivs, func(a, b iv) int { return a.from.Compare(b.from) })
	var total time.Duration
	var cur iv
	for i, v := range ivs {
		switch {
		case i == 0:
			cur = v
		case !v.from.After(cur.to): // overlaps or touches: merge
			cur.to = maxTime(cur.to, v.to)
		default:
			total += cur.to.Sub(cur.from)
			cur = v
		}
	}
	if len(ivs) > 0 {
		total += cur.to.Sub(cur.from)
	}
	return total
}

// Availability is the share of span (up to now) not in Downtime, between 0
// and 1; 1 for a span that has not begun.
func Availability(incs []Incident, span Span, now time.Time) float64 {
	to := minTime(span.To, now)
	length := to.Sub(span.From)
	if length <= 0 {
		return 1
	}
	return 1 - float64(Downtime(incs, span, now))/float64(length)
}

// WindowStat is a host's downtime over one window.
type WindowStat struct {
	Window          string        `json:"window"`
	Downtime        time.Duration `json:"-"`
	DowntimeSeconds float64       `json:"downtime_seconds"`
	// Availability is the share of the window the host was up, 0 to 1.
	Availability float64 `json:"availability"`
	Incidents    int     `json:"incidents"`
}

// HostStats is a host's downtime over each window.
type HostStats struct {
	Target  string       `json:"target"`
	Windows []WindowStat `json:"windows"`
}

// ByHost computes, for every target in incs, its downtime, availability
// and incident count over each rolling window ending at now, sorted by
// target.
func ByHost(incs []Incident, windows []Window, now time.Time) []HostStats {
	byTarget := map[string][]Incident{}
	for _, inc := range incs {
		byTarget[inc.Target] = append(byTarget[inc.Target], inc)
	}
	out := make([]HostStats, 0, len(byTarget))
	for target, list := range byTarget {
		hs := HostStats{Target: target}
		for _, w := range windows {
			span := Rolling(now, w.Length)
			n := 0
			for _, inc := range list {
				if inc.Start.Before(span.To) && (inc.Open() || inc.End.After(span.From)) {
					n++
				}
			}
			down := Downtime(list, span, now)
			hs.Windows = append(hs.Windows, WindowStat{
				Window:          w.Name,
				Downtime:        down,
				DowntimeSeconds: down.Seconds(),
				Availability:    Availability(list, span, now),
				Incidents:       n,
			})
		}
		out = append(out, hs)
	}
	slices.SortFunc(out, func(a, b HostStats) int {
		switch {
		case a.Target < b.Target:
			return -1
		case a.Target > b.Target:
			return 1
		}
		return 0
	})
	return out
}

// DayStat is a host's downtime on one calendar day.
type DayStat struct {
	// Day is local midnight at the start of the day.
	Day          time.Time
	Downtime     time.Duration
	Availability float64
}

// Daily splits span into calendar days in loc (the first and last may be
// partial when span does not start or end at midnight) and gives the
// downtime of incs on each.
func Daily(incs []Incident, span Span, loc *time.Location, now time.Time) []DayStat {
	var out []DayStat
	for from := span.From; from.Before(span.To); {
		t := from.In(loc)
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
		next := minTime(time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc), span.To)
		s := Span{From: from, To: next}
		out = append(out, DayStat{Day: day, Downtime: Downtime(incs, s, now), Availability: Availability(incs, s, now)})
		from = next
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
