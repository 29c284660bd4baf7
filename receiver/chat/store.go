package chat

import (
	"errors"
	"sync"
	"time"
)

// ActionRecord is what a callback key stands for. The receiver stores one
// per firing message (or reminder) when it sends the keyboard, and updates
// it after each press.
type ActionRecord struct {
	Route       string
	ChatID      int64
	ThreadID    int
	MessageID   int
	Fingerprint string
	StartsAt    time.Time
	Labels      map[string]string // for the silence matchers
	CreatedAt   time.Time         // for expiring old records

	SilenceID     string // the Alertmanager silence made from this message
	SilencedBy    string // User.Display()
	SilencedUntil time.Time
	AckedBy       string
	AckedAt       time.Time
}

// ErrUnknownKey: the store has no record for the key (expired, or forged).
var ErrUnknownKey = errors.New("button no longer valid; use /status")

// Store is what the chat side needs from the receiver's store. The lead
// implements it on the store interface (bbolt and the others) and runs the
// same behaviour tests; MemStore is the reference.
type Store interface {
	// PutAction records a new key. A key is written once.
	PutAction(key string, r ActionRecord) error
	// Action returns the record or ErrUnknownKey.
	Action(key string) (ActionRecord, error)
	// UpdateAction changes a record atomically (read, f, write in one
	// transaction), so that two presses at once do not both silence.
	UpdateAction(key string, f func(*ActionRecord) error) error
	// UpdatesOffset is the next getUpdates offset (last update_id + 1), 0 at
	// first; SetUpdatesOffset is written after an update is handled, so that
	// no update is handled twice across restarts.
	UpdatesOffset() (int, error)
	SetUpdatesOffset(offset int) error
}

// MemStore is an in-memory Store for tests and the dry-run demo.
type MemStore struct {
	mu      sync.Mutex
	records map[string]ActionRecord
	offset  int
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{records: map[string]ActionRecord{}} }

func (m *MemStore) PutAction(key string, r ActionRecord) error {
	if err := checkKey(key); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.records[key]; ok {
		return errors.New("callback key already used")
	}
	m.records[key] = r
	return nil
}

func (m *MemStore) Action(key string) (ActionRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[key]
	if !ok {
		return ActionRecord{}, ErrUnknownKey
	}
	return r, nil
}

func (m *MemStore) UpdateAction(key string, f func(*ActionRecord) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[key]
	if !ok {
		return ErrUnknownKey
	}
	if err := f(&r); err != nil {
		return err
	}
	m.records[key] = r
	return nil
}

func (m *MemStore) UpdatesOffset() (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.offset, nil
}

func (m *MemStore) SetUpdatesOffset(o int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o < m.offset {
		return errors.New("updates offset must not go back")
	}
	m.offset = o
	return nil
}
