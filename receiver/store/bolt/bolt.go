// Package bolt implements store.Store in one bbolt file.
//
// Every change that must be atomic (enqueue + mark keys + alert state, or
// remove a sent job + record its message id) happens in a single bbolt
// transaction, so a crash at any point neither loses nor doubles a message.
package bolt

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/downtime-detector/downtime/receiver/store"
)

// FileName is the database file created under --storage.path.
const FileName = "receiver.db"

var (
	bucketQueue      = []byte("queue")
	bucketSeen       = []byte("seen")
	bucketAlerts     = []byte("alerts")
	bucketDead       = []byte("dead")
	bucketMigrations = []byte("migrations")
	allBuckets       = [][]byte{bucketQueue, bucketSeen, bucketAlerts, bucketDead, bucketMigrations,
		bucketIncidents, bucketOpenIncidents, bucketLastIncidents}
)

// Store is the receiver's bbolt database; it implements store.Store.
type Store struct {
	db *bolt.DB
}

// Options tune Open.
type Options struct {
	// NoSync skips fsync on commit: only for tests and fuzzing, where
	// durability across power loss does not matter.
	NoSync bool
	// Timeout is how long Open waits for another process to release the
	// file before failing with store.ErrLocked (default one second).
	Timeout time.Duration
}

var _ store.Store = (*Store)(nil)

// Open creates dir if needed and opens dir/receiver.db. It fails fast
// (after one second) with store.ErrLocked when another process holds the
// file, and with ErrDamaged when an existing file fails the check at open
// (see checkFile): zero length, truncated, damaged pages or records.
func Open(dir string) (*Store, error) { return OpenWith(dir, Options{}) }

// OpenWith is Open with options.
func OpenWith(dir string, o Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating storage directory %q: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if err := checkFile(path, o.Timeout); errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("opening store %q: %w", path, err)
	} else if err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.Timeout, NoSync: o.NoSync})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("opening store %q: %w", path, store.ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("opening store %q: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return indexQueue(tx)
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
