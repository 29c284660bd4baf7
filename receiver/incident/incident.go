// Package incident holds the incident log: one record per outage as a chat
// saw it (from the firing message to the resolved one), what the status
// page, the incidents command, the CSV export and the digest read, and the
// availability arithmetic over those records.
//
// The package defines the model and the [Log] interface; the receiver's
// store implements it (writing a record in the same transaction that queues
// the messages, so the log and the chat never disagree). [Memory] is the
// reference implementation, and incidenttest holds the behaviour every
// implementation must pass.
package incident

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/prometheus/common/model"
)

// DefaultRetention is how long resolved incidents are kept by default.
const DefaultRetention = 90 * 24 * time.Hour

// State is whether an incident is still going on.
type State string

// The states of an incident; the empty State matches both in a [Filter].
const (
	StateOpen     State = "open"
	StateResolved State = "resolved"
)

// ParseState parses "open" or "resolved" ("" is any state).
func ParseState(s string) (State, error) {
	switch st := State(s); st {
	case "", StateOpen, StateResolved:
		return st, nil
	}
	return "", errors.New(`must be "open" or "resolved"`)
}

// Key says which outage a record belongs to: the alert (its Alertmanager
// fingerprint) on the route that told a chat about it. The same alert
// routed to two chats is two incidents, one per chat.
type Key struct {
	Route       string `json:"route"`
	Fingerprint string `json:"fingerprint"`
}

// MessageRef links to a Telegram message about the incident.
type MessageRef struct {
	ChatID    int64 `json:"chat_id"`
	ThreadID  int   `json:"message_thread_id,omitempty"`
	MessageID int   `json:"message_id"`
}

// Incident is one outage as a chat saw it.
type Incident struct {
	// ID is assigned by the log when the incident opens; it is unique and
	// grows with every new incident.
	ID uint64 `json:"id"`
	Key
	// Target is the host (the target, instance or host label, else the
	// alertname), as the messages name it.
	Target    string            `json:"target"`
	AlertName string            `json:"alertname"`
	Labels    map[string]string `json:"labels,omitempty"`
	// Start is the real start of the downtime as the messages give it
	// (render.Since: the downtime_since annotation when present, else
	// startsAt moved back by downtime_for, else startsAt).
	Start time.Time `json:"start"`
	// End is when it resolved; zero while the incident is open.
	End time.Time `json:"end,omitzero"`
	// SilencedBy and AcknowledgedBy name who silenced or acknowledged the
	// alert from the chat, empty if nobody did.
	SilencedBy     string       `json:"silenced_by,omitempty"`
	AcknowledgedBy string       `json:"acknowledged_by,omitempty"`
	Messages       []MessageRef `json:"messages,omitempty"`
}

// CheckOpen checks what Log.Open needs: a fingerprint, a target and a start.
func (i Incident) CheckOpen() error {
	switch {
	case i.Fingerprint == "":
		return errors.New("opening an incident: empty fingerprint")
	case i.Target == "":
		return errors.New("opening an incident: empty target")
	case i.Start.IsZero():
		return errors.New("opening an incident: zero start time")
	}
	return nil
}

// Open reports whether the incident is still going on.
func (i Incident) Open() bool { return i.End.IsZero() }

// State is StateOpen or StateResolved.
func (i Incident) State() State {
	if i.Open() {
		return StateOpen
	}
	return StateResolved
}

// Duration is how long the host was down: up to End, or up to now while the
// incident is open; never negative.
func (i Incident) Duration(now time.Time) time.Duration {
	end := i.End
	if i.Open() {
		end = now
	}
	return max(end.Sub(i.Start), 0)
}

// Clone returns a deep copy of i.
func (i Incident) Clone() Incident {
	i.Labels = maps.Clone(i.Labels)
	i.Messages = slices.Clone(i.Messages)
	return i
}

// Note is what the chat added to an incident after it opened; empty fields
// change nothing.
type Note struct {
	SilencedBy     string
	AcknowledgedBy string
	Message        *MessageRef
}

// Filter selects incidents. Zero fields select everything.
type Filter struct {
	State  State
	Target string
	Route  string
	// Since and Until select the incidents that were going on at some
	// point in [Since, Until): a period's incidents for an SLA report
	// include those that began before it and those still open.
	Since, Until time.Time
	// Limit caps the number returned, newest first (0: no limit).
	Limit int
}

// Match reports whether i passes the filter (Limit aside).
func (f Filter) Match(i Incident) bool {
	switch {
	case f.State != "" && i.State() != f.State,
		f.Target != "" && i.Target != f.Target,
		f.Route != "" && i.Route != f.Route,
		!f.Until.IsZero() && !i.Start.Before(f.Until),
		!f.Since.IsZero() && !i.Open() && i.End.Before(f.Since):
		return false
	}
	return true
}

// Sort orders incidents newest first: by Start, then by ID.
func Sort(incs []Incident) {
	slices.SortStableFunc(incs, func(a, b Incident) int {
		if c := b.Start.Compare(a.Start); c != 0 {
			return c
		}
		switch {
		case a.ID > b.ID:
			return -1
		case a.ID < b.ID:
			return 1
		}
		return 0
	})
}

// Errors a Log returns.
var (
	// ErrNotOpen: no open incident has this key (a resolved notification
	// for an outage the log never saw open, e.g. one older than the log).
	ErrNotOpen = errors.New("no open incident")
	// ErrNotFound: no incident has this ID.
	ErrNotFound = errors.New("no such incident")
)

// Lister reads incidents; it is all the status page needs.
type Lister interface {
	// List returns the incidents that pass f, newest first.
	List(ctx context.Context, f Filter) ([]Incident, error)
}

// Log is the incident log.
type Log interface {
	Lister
	// Open records that inc.Key went down at inc.Start and returns the
	// record with its ID. While an incident with that key is open, Open
	// returns it unchanged (Alertmanager repeats a firing alert), but
	// with an earlier Start if inc has one (a later notification carrying
	// downtime_since).
	Open(ctx context.Context, inc Incident) (Incident, error)
	// Resolve closes the open incident of key at end (not before its
	// start). ErrNotOpen if there is none.
	Resolve(ctx context.Context, key Key, end time.Time) (Incident, error)
	// Annotate adds what the chat did to incident id: who silenced or
	// acknowledged it, a message about it. ErrNotFound if there is none.
	Annotate(ctx context.Context, id uint64, n Note) (Incident, error)
	// Prune deletes the resolved incidents that ended more than retention
	// before now (DefaultRetention if retention <= 0) and returns how many.
	// Open incidents are never pruned.
	Prune(ctx context.Context, now time.Time, retention time.Duration) (int, error)
}

// Cutoff is the end before which Prune deletes resolved incidents.
func Cutoff(now time.Time, retention time.Duration) time.Time {
	if retention <= 0 {
		retention = DefaultRetention
	}
	return now.Add(-retention)
}

// Apply adds n to inc, for implementations of [Log]: empty fields change
// nothing, a message already linked is not linked twice.
func (n Note) Apply(inc *Incident) {
	if n.SilencedBy != "" {
		inc.SilencedBy = n.SilencedBy
	}
	if n.AcknowledgedBy != "" {
		inc.AcknowledgedBy = n.AcknowledgedBy
	}
	if n.Message != nil && !slices.Contains(inc.Messages, *n.Message) {
		inc.Messages = append(inc.Messages, *n.Message)
	}
}

// ParseTime reads a point in time as the API's since/until and the
// incidents command's --since take it: a duration back from now ("24h",
// "7d", "1w") or an RFC 3339 time.
func ParseTime(s string, now time.Time) (time.Time, error) {
	if d, err := model.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, errors.New("duration must be positive")
		}
		return now.Add(-time.Duration(d)), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errors.New(`want a duration before now ("24h", "7d") or an RFC 3339 time ("2026-11-01T00:00:00Z")`)
	}
	return t, nil
}
