// Package store keeps the receiver's durable state in one bbolt file: the
// outbox queue of Telegram jobs, the idempotency keys already accepted, the
// per-alert state (firing message id, last reminder) and the dead letters.
//
// Every change that must be atomic (enqueue + mark keys + alert state, or
// remove a sent job + record its message id) happens in a single bbolt
// transaction, so a crash at any point neither loses nor doubles a message.
package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FileName is the database file created under --storage.path.
const FileName = "receiver.db"

var (
	bucketQueue      = []byte("queue")
	bucketSeen       = []byte("seen")
	bucketAlerts     = []byte("alerts")
	bucketDead       = []byte("dead")
	bucketMigrations = []byte("migrations")
	allBuckets       = [][]byte{bucketQueue, bucketSeen, bucketAlerts, bucketDead, bucketMigrations}
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

// Key is the bbolt key of the alert's state.
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
}

// DeadLetter is a job Telegram refused permanently.
type DeadLetter struct {
	Job    Job       `json:"job"`
	Reason string    `json:"reason"`
	Error  string    `json:"error"`
	At     time.Time `json:"at"`
}

// Store is the receiver's bbolt database.
type Store struct {
	db *bolt.DB
}

// Options tune Open.
type Options struct {
	// NoSync skips fsync on commit: only for tests and fuzzing, where
	// durability across power loss does not matter.
	NoSync bool
}

// Open creates dir if needed and opens dir/receiver.db. It fails fast
// (after one second) when another process holds the file.
func Open(dir string) (*Store, error) { return OpenWith(dir, Options{}) }

// OpenWith is Open with options.
func OpenWith(dir string, o Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating storage directory %q: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoSync: o.NoSync})
	if err != nil {
		return nil, fmt.Errorf("opening store %q: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("initialising store %q: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Path is the database file path.
func (s *Store) Path() string { return s.db.Path() }

func itob(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	raw := b.Get(key)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("decoding %s/%q: %w", "store", key, err)
	}
	return true, nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

// ErrNotQueued is returned by Complete and DeadLetter when the job is no
// longer in the queue (already completed).
var ErrNotQueued = errors.New("job not in queue")
