// Package heartbeat is the receiver's dead man's switch. Alertmanager's
// Watchdog alert (always firing, repeated every minute by its route) is a
// heartbeat: Take records it per source and keeps it out of the messages.
// When a source has sent no heartbeat for the timeout, the Watcher queues
// one warning to the source's chat; when heartbeats come back, a reply to
// that warning. The state lives in the store (store.Heartbeat), so a
// restart during a silence neither repeats the warning nor forgets it, and
// a receiver that has never seen a heartbeat from a source says nothing
// about it.
//
// The decisions are pure functions of (state, start, now, timeout): Decide and
// Arrive. The Watcher's loop reads an injected clock.Clock, so tests move
// a fake clock instead of sleeping.
package heartbeat

import (
	"time"

	"github.com/downtime-detector/downtime/receiver/store"
)

// SourceKey identifies a heartbeat source: the receiver route the
// heartbeats go to ("" for the default chat) and the Alertmanager
// receiver that sends them. The external URL is not part of it: the two
// peers of an Alertmanager HA pair take turns sending the Watchdog (each
// with its own URL), and that is one source that is alive. Route names
// contain no '/', so the key is unambiguous.
func SourceKey(route, receiver string) string { return route + "/" + receiver }

// Decision is what the watcher does about one source now.
type Decision struct {
	// Warn: queue the warning now.
	Warn bool
	// Next is when to look at the source again (zero: only after its next
	// heartbeat).
	Next time.Time
}

// Decide is the warning logic for one source, a pure function of its
// state, the time this receiver started watching, now and the timeout:
//   - timeout 0 (disabled), never seen a heartbeat, or already warned for
//     this silence: nothing (the next heartbeat replies "back");
//   - no heartbeat for timeout or longer, counted from the later of the
//     last heartbeat and started: warn;
//   - otherwise: look again when the timeout will have passed.
//
// Counting from started is the restart rule: a receiver that was down
// (crashed, upgraded, its host rebooted) cannot tell a silent Alertmanager
// from heartbeats it missed while it was not listening, so after a start
// it gives every source one full timeout to send a heartbeat before it
// warns. A restart therefore never looks like a silence, and a silence
// that began before the restart is reported at most one timeout late; the
// warning still names the last heartbeat actually received.
func Decide(h store.Heartbeat, started, now time.Time, timeout time.Duration) Decision {
	if timeout <= 0 || h.Last.IsZero() || h.Warned {
		return Decision{}
	}
	from := h.Last
	if started.After(from) {
		from = started
	}
	due := from.Add(timeout)
	if !now.Before(due) {
		return Decision{Warn: true}
	}
	return Decision{Next: due}
}

// Arrive is what a heartbeat at now does to a source's state: Last moves
// to now and the warning, if one was queued, is cleared. back reports that
// it was, with silence the time since the last heartbeat before it: the
// "monitoring is back" reply is due.
func Arrive(h store.Heartbeat, now time.Time) (next store.Heartbeat, back bool, silence time.Duration) {
	next = h
	if h.Warned {
		back, silence = true, now.Sub(h.Last)
	}
	if now.After(h.Last) {
		next.Last = now
	}
	next.Warned, next.Warning = false, store.AlertRef{}
	return next, back, silence
}
