package bolt

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/downtime-detector/downtime/receiver/chat"
	"github.com/downtime-detector/downtime/receiver/store"
)

// The chat buckets are created on first write, so that a store written by
// an older receiver opens unchanged.
var (
	bucketChatActions = []byte("chat_actions")
	bucketChatMeta    = []byte("chat_meta")
	keyUpdatesOffset  = []byte("updates_offset")
)

var _ store.Chat = (*Store)(nil)

// PutAction records a new callback key; a key is written once.
func (s *Store) PutAction(key string, r chat.ActionRecord) error {
	if key == "" {
		return errors.New("empty callback key")
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketChatActions)
		if err != nil {
			return err
		}
		if b.Get([]byte(key)) != nil {
			return fmt.Errorf("callback key %q already used", key)
		}
		return putJSON(b, []byte(key), r)
	})
}

// Action returns the record of key or chat.ErrUnknownKey.
func (s *Store) Action(key string) (chat.ActionRecord, error) {
	var r chat.ActionRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketChatActions)
		if b == nil {
			return chat.ErrUnknownKey
		}
		ok, err := getJSON(b, []byte(key), &r)
		if err == nil && !ok {
			return chat.ErrUnknownKey
		}
		return err
	})
	return r, err
}

// UpdateAction reads, changes and writes a record in one transaction.
func (s *Store) UpdateAction(key string, f func(*chat.ActionRecord) error) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketChatActions)
		if b == nil {
			return chat.ErrUnknownKey
		}
		var r chat.ActionRecord
		ok, err := getJSON(b, []byte(key), &r)
		if err != nil {
			return err
		}
		if !ok {
			return chat.ErrUnknownKey
		}
		if err := f(&r); err != nil {
			return err
		}
		return putJSON(b, []byte(key), r)
	})
}

// UpdatesOffset is the next getUpdates offset (0 at first).
func (s *Store) UpdatesOffset() (int, error) {
	var o int
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketChatMeta); b != nil {
			if v := b.Get(keyUpdatesOffset); len(v) == 8 {
				o = int(binary.BigEndian.Uint64(v))
			}
		}
		return nil
	})
	return o, err
}

// SetUpdatesOffset stores the next getUpdates offset; it never goes back.
func (s *Store) SetUpdatesOffset(offset int) error {
	if offset < 0 {
		return fmt.Errorf("updates offset %d is negative", offset)
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketChatMeta)
		if err != nil {
			return err
		}
		if v := b.Get(keyUpdatesOffset); len(v) == 8 && int(binary.BigEndian.Uint64(v)) > offset {
			return errors.New("updates offset must not go back")
		}
		return b.Put(keyUpdatesOffset, itob(uint64(offset)))
	})
}

// FiringAlerts lists the alerts held as firing.
func (s *Store) FiringAlerts() ([]store.Held, error) {
	var out []store.Held
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAlerts).ForEach(func(k, v []byte) error {
			var st store.AlertState
			if err := json.Unmarshal(v, &st); err != nil || !st.Holding() {
				return nil // a broken record is not held; Prune removes it
			}
			ref, err := store.ParseAlertKey(string(k))
			if err != nil {
				return nil
			}
			out = append(out, store.Held{Ref: ref, State: st})
			return nil
		})
	})
	return out, err
}

var keyReconcileState = []byte("reconcile_state")

// ReconcileState returns the reconciler's saved state (nil when never set).
func (s *Store) ReconcileState() ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketChatMeta); b != nil {
			if v := b.Get(keyReconcileState); v != nil {
				out = append([]byte{}, v...)
			}
		}
		return nil
	})
	return out, err
}

// SetReconcileState saves the reconciler's state.
func (s *Store) SetReconcileState(state []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketChatMeta)
		if err != nil {
			return err
		}
		return b.Put(keyReconcileState, append([]byte{}, state...))
	})
}
