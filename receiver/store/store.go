// Package store defines the receiver's durable state: the outbox queue of
// Telegram jobs, the idempotency keys already accepted, the per-alert state
// (firing message id, last reminder), the dead letters and the recorded
// chat migrations. Store is the boundary; receiver/store/bolt implements it
// in one bbolt file and receiver/store/storetest specifies its behaviour
// once, for every implementation.
package store

import (
	"encoding/json"
	"errors"
	"time"
)

// Store is the receiver's durable state.
//
// Atomicity contract, which every implementation keeps:
//   - Update runs its function in one read-write transaction: the alert
//     states read and written, the jobs queued and the idempotency keys
//     marked by Tx.Enqueue all commit together or not at all (the function's
//     error rolls everything back). Transactions are serialisable: two
//     Updates never interleave.
//   - Complete removes a job from the queue and records the message it
//     produced on its alerts in one transaction; DeadLetter moves a job from
//     the queue to the dead letters in one transaction; RetryDeadLetters
//     moves dead letters back to the end of the queue in one transaction.
//     So a crash at any point neither loses nor doubles a message.
//   - Job ids increase in queue order and are never reused, across restarts.
//
// Methods are safe for concurrent use.
type Store interface {
	// Update runs fn in one read-write transaction; fn's error rolls it back.
	Update(fn func(Tx) error) error
	// Pending returns up to limit queued jobs in queue order (limit <= 0: all).
	Pending(limit int) ([]Job, error)
	// Complete removes a delivered job from the queue and records the
	// message it produced on its alerts (see RecordSent); ErrNotQueued when
	// the job is no longer queued.
	Complete(job Job, sent []Sent, now time.Time) error
	// DeadLetter moves a job from the queue to the dead letters;
	// ErrNotQueued when the job is no longer queued.
	DeadLetter(job Job, reason string, cause error, now time.Time) error
	// DeadLetters returns all dead letters, oldest first.
	DeadLetters() ([]DeadLetter, error)
	// RetryDeadLetters moves the dead letters with the given job ids (all
	// of them when ids is empty) back to the end of the queue, with new job
	// ids and their idempotency keys unchanged, and returns the jobs queued.
	// An unknown id is ErrNoDeadLetter and changes nothing.
	RetryDeadLetters(ids []uint64, now time.Time) ([]Job, error)
	// PurgeDeadLetters deletes the dead letters with the given job ids (all
	// when ids is empty) and returns how many were deleted. An unknown id is
	// ErrNoDeadLetter and changes nothing.
	PurgeDeadLetters(ids []uint64) (int, error)
	// FiringMessage returns the state of an alert and whether its firing
	// message was sent (MessageID != 0).
	FiringMessage(ref AlertRef) (AlertState, bool, error)
	// AlertStates returns the states of refs (zero values for unknown ones).
	AlertStates(refs []AlertRef) ([]AlertState, error)
	// Stats reads queue depth, oldest job and dead-letter count.
	Stats() (Stats, error)
	// SetMigration records that chat from was upgraded to chat to
	// (Telegram's migrate_to_chat_id); ChatFor follows it for later sends.
	SetMigration(from, to string) error
	// ChatFor returns the chat to send to for a configured chat, following
	// recorded migrations (a few hops at most, loops are cut).
	ChatFor(chat string) (string, error)
	// Prune deletes idempotency keys, alert states and watched parents
	// last touched before cutoff and returns how many it deleted. Planning
	// touches the state of every alert it sees, so an alert still being
	// notified is never pruned; the state of an open heartbeat warning
	// (Heartbeat.Warned, its Warning ref) is kept however old, so the
	// "back" reply finds its message.
	Prune(cutoff time.Time) (int, error)
	// Path says where the data lives, for logs (never a secret).
	Path() string
	Close() error
	IncidentStore
	Chat       // chat.go
	Heartbeats // heartbeat.go
	Parents    // parents.go
}

// Tx is one read-write transaction of Store.Update, valid only while the
// function runs.
type Tx interface {
	// AlertState returns the state of one alert occurrence and whether it
	// was known.
	AlertState(ref AlertRef) (AlertState, bool, error)
	// PutAlertState stores the state of one alert occurrence.
	PutAlertState(ref AlertRef, st AlertState) error
	// Seen reports whether an idempotency key was already accepted.
	Seen(key string) (bool, error)
	// Enqueue appends jobs to the queue in order and marks their keys as
	// seen. A job whose keys were all seen before is skipped (a duplicate
	// webhook); the jobs actually queued are returned with their IDs and
	// Enqueued set to now.
	Enqueue(jobs []Job, now time.Time) ([]Job, error)
	IncidentTx
	HeartbeatTx // heartbeat.go
	ParentsTx   // parents.go
}

// Enqueue queues jobs in their own transaction (see Tx.Enqueue).
func Enqueue(s Store, jobs []Job, now time.Time) ([]Job, error) {
	var queued []Job
	err := s.Update(func(tx Tx) error {
		var err error
		queued, err = tx.Enqueue(jobs, now)
		return err
	})
	return queued, err
}

var (
	// ErrNotQueued is returned by Complete and DeadLetter when the job is
	// no longer in the queue (already completed).
	ErrNotQueued = errors.New("job not in queue")
	// ErrNoDeadLetter is returned for a dead-letter id that does not exist.
	ErrNoDeadLetter = errors.New("no such dead letter")
	// ErrLocked is returned by an Open when another process (a running
	// receiver) holds the store.
	ErrLocked = errors.New("store is in use by another process")
)

// Kind is what a job does in Telegram.
type Kind string

// Job kinds.
const (
	KindFiring   Kind = "firing"
	KindReminder Kind = "reminder"
	KindResolved Kind = "resolved" // sent as a reply to the firing message
	KindEdit     Kind = "edit"     // edits the firing message(s) of its alerts
)

// AlertRef identifies one occurrence of an alert on one route: the same
// fingerprint firing again later has a new StartsAt and therefore a new
// state, and an alert sent to two routes (chats) has a state per route.
type AlertRef struct {
	Route       string    `json:"route,omitempty"`
	Fingerprint string    `json:"fingerprint"`
	StartsAt    time.Time `json:"startsAt"`
}

// Key is the alert state's key in a store.
func (r AlertRef) Key() string {
	return r.Route + "/" + r.Fingerprint + "@" + r.StartsAt.UTC().Format(time.RFC3339Nano)
}

// Job is one queued Telegram operation.
type Job struct {
	ID       uint64     `json:"id"` // queue order, assigned by Enqueue
	Kind     Kind       `json:"kind"`
	Route    string     `json:"route"`
	ChatID   string     `json:"chatID"` // as configured; migrations are applied at send time
	ThreadID int        `json:"threadID,omitempty"`
	Silent   bool       `json:"silent,omitempty"`
	Text     string     `json:"text"`               // HTML; for edits the resolved text of the alerts
	Reminder int        `json:"reminder,omitempty"` // 1-based reminder index
	Alerts   []AlertRef `json:"alerts"`
	Keys     []string   `json:"keys"` // idempotency keys covered by this job
	Enqueued time.Time  `json:"enqueued"`
}

// AlertState is what the receiver remembers about one alert occurrence.
type AlertState struct {
	Firing    bool   `json:"firing,omitempty"`   // a firing message was queued
	Reminder  int    `json:"reminder,omitempty"` // last reminder index queued
	Resolved  bool   `json:"resolved,omitempty"` // a resolved message was queued
	ChatID    string `json:"chatID,omitempty"`   // where the firing message was sent
	MessageID int    `json:"messageID,omitempty"`
	Text      string `json:"text,omitempty"` // current text of the firing message
	// MessageAlerts are the alerts shown in the firing message, so an edit
	// can re-render all of them when one resolves.
	MessageAlerts []AlertRef `json:"messageAlerts,omitempty"`
	// Alert is the latest Alertmanager alert seen (JSON of template.Alert).
	Alert   json.RawMessage `json:"alert,omitempty"`
	Updated time.Time       `json:"updated"`
	// AckedBy is who acknowledged the alert from the chat ("" when not
	// acknowledged): no more reminders, the recovery is still reported.
	AckedBy string `json:"ackedBy,omitempty"`
	// ActionKey is the callback key of the firing message's buttons.
	ActionKey string `json:"actionKey,omitempty"`
}

// DeadLetter is a job Telegram refused permanently.
type DeadLetter struct {
	Job    Job       `json:"job"`
	Reason string    `json:"reason"`
	Error  string    `json:"error"`
	At     time.Time `json:"at"`
}

// Sent records what a delivered job produced in Telegram.
type Sent struct {
	ChatID    string `json:"chatID"`    // chat actually used (after migration)
	MessageID int    `json:"messageID"` // firing: the new message; edit: the edited message
	Text      string `json:"text"`      // firing: text sent; edit: the new text
}

// Stats is a snapshot for metrics.
type Stats struct {
	Depth       int       // queued jobs
	Oldest      time.Time // enqueue time of the oldest queued job (zero when empty)
	DeadLetters int
}

// RecordSent applies what a delivered job produced to the state of one of
// its alerts: a firing job stores the message id and text that resolved
// replies and edits use; an edit job stores the new text (Sent.MessageID
// names the edited message). Implementations call it inside Complete's
// transaction for every alert of the job.
func RecordSent(job Job, st AlertState, sent []Sent, now time.Time) AlertState {
	for _, m := range sent {
		switch {
		case job.Kind == KindFiring && st.MessageID == 0:
			st.ChatID, st.MessageID, st.Text = m.ChatID, m.MessageID, m.Text
			st.MessageAlerts = job.Alerts
		case job.Kind == KindEdit && st.MessageID == m.MessageID:
			st.ChatID, st.Text = m.ChatID, m.Text
		}
	}
	st.Updated = now
	return st
}

// Records reports whether Complete must record sent on the job's alerts.
func Records(job Job, sent []Sent) bool {
	return len(sent) > 0 && (job.Kind == KindFiring || job.Kind == KindEdit)
}
