package bolt

import (
	bolt "go.etcd.io/bbolt"

	"github.com/downtime-detector/downtime/receiver/store"
)

// bucketHeartbeats holds store.Heartbeat by source. It is created on the
// first write, so a database from before heartbeats needs no migration.
var bucketHeartbeats = []byte("heartbeats")

// Heartbeat returns the state of one heartbeat source.
func (t *Tx) Heartbeat(source string) (store.Heartbeat, bool, error) {
	var h store.Heartbeat
	b := t.tx.Bucket(bucketHeartbeats)
	if b == nil {
		return h, false, nil
	}
	ok, err := getJSON(b, []byte(source), &h)
	return h, ok, err
}

// PutHeartbeat stores the state of h.Source.
func (t *Tx) PutHeartbeat(h store.Heartbeat) error {
	b, err := t.tx.CreateBucketIfNotExists(bucketHeartbeats)
	if err != nil {
		return err
	}
	return putJSON(b, []byte(h.Source), h)
}

// Heartbeats returns every heartbeat source's state, ordered by source.
func (s *Store) Heartbeats() ([]store.Heartbeat, error) {
	var out []store.Heartbeat
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketHeartbeats)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, _ []byte) error {
			var h store.Heartbeat
			if _, err := getJSON(b, k, &h); err != nil {
				return err
			}
			out = append(out, h)
			return nil
		})
	})
	return out, err
}

// openWarnings returns the alert-state keys of the open heartbeat
// warnings (store.OpenWarningKeys), which Prune keeps.
func openWarnings(tx *bolt.Tx) (map[string]bool, error) {
	b := tx.Bucket(bucketHeartbeats)
	if b == nil {
		return nil, nil
	}
	var hs []store.Heartbeat
	err := b.ForEach(func(k, _ []byte) error {
		var h store.Heartbeat
		if _, err := getJSON(b, k, &h); err != nil {
			return err
		}
		hs = append(hs, h)
		return nil
	})
	return store.OpenWarningKeys(hs), err
}
