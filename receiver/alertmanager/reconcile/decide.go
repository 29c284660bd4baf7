// Package reconcile ends, in the chat, outages whose resolved webhook never
// comes: Alertmanager sends no resolved notification for an alert that was
// silenced or inhibited when it resolved (alertmanager #226), nor for one it
// lost in a restart. The reconciler compares the alerts the receiver holds as
// firing with what Alertmanager lists (GET /api/v2/alerts) and decides which
// have ended there.
//
// Decide is a pure function of the held alerts, the peers' answers, the
// state of the previous round and now; Loop runs it every Interval.
package reconcile

import (
	"slices"
	"time"

	"github.com/downtime-detector/downtime/receiver/alertmanager"
)

// Held is an alert the receiver holds as firing (sent a firing message and no
// resolved one yet).
type Held struct {
	Route       string
	Fingerprint string
	Labels      map[string]string
	StartsAt    time.Time
}

// Verdict is what the reconciler concluded about one held alert.
type Verdict int

const (
	// Firing: Alertmanager still lists it (maybe suppressed); nothing to do.
	Firing Verdict = iota
	// Resolved: the outage ended; report it as the webhook would have, with EndsAt.
	Resolved
	// Pending: missing from Alertmanager, but a resolved webhook may still
	// come (it was last seen unsuppressed) or the peers just restarted; wait.
	Pending
	// Unknown: no Alertmanager answered (or none has been up long enough to
	// be believed). Never treated as resolved.
	Unknown
)

func (v Verdict) String() string {
	return [...]string{"firing", "resolved", "pending", "unknown"}[v]
}

// Reasons for a Resolved verdict (the "reason" metric label).
const (
	ReasonEnded      = "ended"       // listed with endsAt in the past
	ReasonSuppressed = "suppressed"  // last seen silenced/inhibited, now gone: AM will not send a resolved webhook
	ReasonLost       = "lost"        // last seen active, gone for LostGrace without a resolved webhook
	ReasonNewEpisode = "new_episode" // AM lists a later start: this episode ended in between
)

// Reasons lists every Resolved reason, for metrics initialisation.
var Reasons = []string{ReasonEnded, ReasonSuppressed, ReasonLost, ReasonNewEpisode}

// Decision is the verdict on one held alert.
type Decision struct {
	Held
	Verdict Verdict
	Reason  string    // Resolved only, one of Reasons
	EndsAt  time.Time // Resolved only: the end to report
	// The state Alertmanager reports, when Firing: "active" or "suppressed",
	// and the silences and inhibiting alerts (for /status).
	State       string
	SilencedBy  []string
	InhibitedBy []string
}

// Options tune the waits. The zero value of a field means its default.
type Options struct {
	// RestartGrace: a peer up for less than this may not have all alerts
	// yet (Prometheus re-sends firing alerts every resend delay, 1m by
	// default), so its not listing an alert proves nothing. Default 2m.
	RestartGrace time.Duration
	// SuppressedGrace: how long an alert last seen silenced or inhibited
	// must be missing before it is resolved. Alertmanager will not send a
	// resolved webhook for it, so waiting gains nothing. Default 0: the
	// first round that misses it resolves it, at the time of that round.
	SuppressedGrace time.Duration
	// LostGrace: how long an alert last seen active must be missing before
	// it is taken as lost. Alertmanager sends its resolved webhook after up
	// to group_interval (5m by default); the webhook carries the exact end,
	// so it is given the time to arrive. Default 10m.
	LostGrace time.Duration
}

// DefaultOptions are the defaults described on Options.
var DefaultOptions = Options{RestartGrace: 2 * time.Minute, LostGrace: 10 * time.Minute}

func (o Options) withDefaults() Options {
	if o.RestartGrace == 0 {
		o.RestartGrace = DefaultOptions.RestartGrace
	}
	if o.LostGrace == 0 {
		o.LostGrace = DefaultOptions.LostGrace
	}
	return o
}

// Track is what the reconciler remembers about one held alert between rounds.
type Track struct {
	Suppressed   bool      // last seen suppressed (silenced or inhibited)
	MissingSince time.Time // first round that did not find it; zero while listed
}

// State maps fingerprints to their Track. It is kept in memory: after a
// restart an alert counts as last seen active (the long LostGrace applies).
type State map[string]Track

// startTolerance absorbs timestamp rounding between the webhook and the API.
const startTolerance = time.Second

// Decide returns a decision for every held alert and the state for the next
// round. It does not modify prev.
func Decide(held []Held, snaps []alertmanager.Snapshot, prev State, now time.Time, opts Options) ([]Decision, State) {
	opts = opts.withDefaults()
	answered, settled := 0, 0
	for _, s := range snaps {
		if s.Err != nil {
			continue
		}
		answered++
		if s.StartedAt.IsZero() || now.Sub(s.StartedAt) >= opts.RestartGrace {
			settled++
		}
	}
	next := State{}
	out := make([]Decision, 0, len(held))
	for _, h := range held {
		d, tr := decideOne(h, snaps, prev[h.Fingerprint], answered, settled, now, opts)
		if d.Verdict != Resolved {
			next[h.Fingerprint] = tr
		}
		out = append(out, d)
	}
	return out, next
}

func decideOne(h Held, snaps []alertmanager.Snapshot, tr Track, answered, settled int, now time.Time, opts Options) (Decision, Track) {
	d := Decision{Held: h}
	if answered == 0 {
		d.Verdict = Unknown
		return d, tr
	}
	if a, ok := find(h.Fingerprint, snaps); ok {
		switch {
		case !a.EndsAt.IsZero() && !a.EndsAt.After(now):
			d.Verdict, d.Reason, d.EndsAt = Resolved, ReasonEnded, clampEnd(a.EndsAt, h.StartsAt)
		case a.StartsAt.After(h.StartsAt.Add(startTolerance)):
			end := a.StartsAt
			if !tr.MissingSince.IsZero() && tr.MissingSince.Before(end) {
				end = tr.MissingSince
			}
			d.Verdict, d.Reason, d.EndsAt = Resolved, ReasonNewEpisode, clampEnd(end, h.StartsAt)
		default:
			d.Verdict, d.State = Firing, a.State
			d.SilencedBy, d.InhibitedBy = a.SilencedBy, a.InhibitedBy
			return d, Track{Suppressed: a.State == "suppressed"}
		}
		return d, tr
	}
	if settled == 0 {
		// Only freshly restarted peers answered: absence proves nothing yet.
		d.Verdict = Unknown
		return d, tr
	}
	if tr.MissingSince.IsZero() {
		tr.MissingSince = now
	}
	grace, reason := opts.LostGrace, ReasonLost
	if tr.Suppressed {
		grace, reason = opts.SuppressedGrace, ReasonSuppressed
	}
	if now.Sub(tr.MissingSince) >= grace {
		d.Verdict, d.Reason, d.EndsAt = Resolved, reason, clampEnd(tr.MissingSince, h.StartsAt)
		return d, tr
	}
	d.Verdict = Pending
	return d, tr
}

// find returns the alert with the fingerprint from the answering peers,
// preferring a suppressed copy (the peers agree on silences by gossip; one
// that has not yet heard of a silence shows the alert active) and merging
// the silences and inhibitions they report.
func find(fp string, snaps []alertmanager.Snapshot) (alertmanager.Alert, bool) {
	var found alertmanager.Alert
	ok := false
	for _, s := range snaps {
		if s.Err != nil {
			continue
		}
		for _, a := range s.Alerts {
			if a.Fingerprint != fp {
				continue
			}
			if !ok {
				found, ok = a, true
				found.SilencedBy = slices.Clone(a.SilencedBy)
				found.InhibitedBy = slices.Clone(a.InhibitedBy)
				continue
			}
			if a.EndsAt.After(found.EndsAt) {
				found.EndsAt = a.EndsAt
			}
			if a.StartsAt.Before(found.StartsAt) {
				found.StartsAt = a.StartsAt
			}
			if a.State == "suppressed" {
				found.State = a.State
			}
			found.SilencedBy = union(found.SilencedBy, a.SilencedBy)
			found.InhibitedBy = union(found.InhibitedBy, a.InhibitedBy)
		}
	}
	return found, ok
}

func union(a, b []string) []string {
	for _, s := range b {
		if !slices.Contains(a, s) {
			a = append(a, s)
		}
	}
	slices.Sort(a)
	return a
}

// clampEnd keeps a reported end from preceding the start.
func clampEnd(end, start time.Time) time.Time {
	if end.Before(start) {
		return start
	}
	return end
}
