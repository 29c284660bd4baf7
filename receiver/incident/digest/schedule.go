// Package digest builds the periodic summary message of a route: the
// incidents of the day (or week) with their durations, the hosts still
// down, the total downtime, or an "all quiet" line (or nothing) when there
// was nothing. It also says when the next digest is due, in local time.
//
// Both are pure functions of their input and the time: the receiver's
// scheduler calls [Schedule.Next] to sleep until the next digest, lists the
// incidents of [Schedule.Span], and queues what [Build] returns.
package digest

import (
	"fmt"
	"time"

	"github.com/downtime-detector/downtime/receiver/incident"
)

// Period is how often a digest is sent.
type Period string

// The periods of a digest.
const (
	Daily  Period = "daily"
	Weekly Period = "weekly"
)

// Schedule says when digests are sent: every day (or every Weekday) at
// Hour:Minute local time in Location.
type Schedule struct {
	Period       Period
	Weekday      time.Weekday // Weekly only
	Hour, Minute int
	Location     *time.Location
}

// Check reports a schedule that cannot work.
func (s Schedule) Check() error {
	switch {
	case s.Period != Daily && s.Period != Weekly:
		return fmt.Errorf("digest period %q: must be %q or %q", s.Period, Daily, Weekly)
	case s.Hour < 0 || s.Hour > 23 || s.Minute < 0 || s.Minute > 59:
		return fmt.Errorf("digest time %02d:%02d: must be between 00:00 and 23:59", s.Hour, s.Minute)
	case s.Weekday < time.Sunday || s.Weekday > time.Saturday:
		return fmt.Errorf("digest weekday %d: must be between 0 (Sunday) and 6", s.Weekday)
	case s.Location == nil:
		return fmt.Errorf("digest: no time zone")
	}
	return nil
}

// at is the digest time on the local calendar day y-m-d. Calendar
// arithmetic (not adding 24h) keeps the wall-clock time across DST
// changes; a time the change skips (02:30 on a spring-forward night) comes
// out an hour later, and one that happens twice is used once.
func (s Schedule) at(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, s.Hour, s.Minute, 0, 0, s.Location)
}

// Next is the first digest time strictly after now.
func (s Schedule) Next(now time.Time) time.Time {
	t := now.In(s.Location)
	y, m, d := t.Date()
	if s.Period == Weekly {
		d += (int(s.Weekday) - int(t.Weekday()) + 7) % 7
	}
	next := s.at(y, m, d)
	for !next.After(now) {
		if s.Period == Weekly {
			d += 7
		} else {
			d++
		}
		next = s.at(y, m, d)
	}
	return next
}

// Span is the period the digest due at `at` covers: from the digest time
// one day (or week) of calendar before, to at.
func (s Schedule) Span(at time.Time) incident.Span {
	t := at.In(s.Location)
	y, m, d := t.Date()
	days := 1
	if s.Period == Weekly {
		days = 7
	}
	return incident.Span{From: s.at(y, m, d-days), To: at}
}
