package bolt

import (
	"bytes"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/downtime-detector/downtime/receiver/store"
)

// bucketParents holds store.Parent by Ref.Key(). It is created on the
// first write, so a database from before it needs no migration.
var bucketParents = []byte("parents")

// WatchParent stores p under p.Ref (store.ParentsTx).
func (t *Tx) WatchParent(p store.Parent) error {
	b, err := t.tx.CreateBucketIfNotExists(bucketParents)
	if err != nil {
		return err
	}
	return putJSON(b, []byte(p.Ref.Key()), p)
}

// UnwatchParent deletes the entry of ref (store.ParentsTx).
func (t *Tx) UnwatchParent(ref store.AlertRef) error {
	b := t.tx.Bucket(bucketParents)
	if b == nil {
		return nil
	}
	return b.Delete([]byte(ref.Key()))
}

// WatchedParents returns every watched parent, ordered by Ref.Key()
// (bbolt's key order).
func (s *Store) WatchedParents() ([]store.Parent, error) {
	var out []store.Parent
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketParents)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, _ []byte) error {
			var p store.Parent
			if _, err := getJSON(b, k, &p); err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	})
	return out, err
}

// pruneParents deletes the parents last written before cutoff (and any
// entry that no longer decodes) and returns how many.
func pruneParents(tx *bolt.Tx, cutoff time.Time) (int, error) {
	b := tx.Bucket(bucketParents)
	if b == nil {
		return 0, nil
	}
	var old [][]byte
	_ = b.ForEach(func(k, v []byte) error {
		var p store.Parent
		if err := json.Unmarshal(v, &p); err != nil || p.Updated.Before(cutoff) {
			old = append(old, bytes.Clone(k))
		}
		return nil
	})
	return len(old), deleteKeys(b, old)
}
