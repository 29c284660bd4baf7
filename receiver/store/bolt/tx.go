package bolt

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/downtime-detector/downtime/receiver/store"
)

// Tx is a read-write transaction used to plan and enqueue one notification
// atomically: alert states read, jobs queued and keys marked all commit
// together or not at all.
type Tx struct {
	tx *bolt.Tx
}

// Update runs fn in one read-write transaction; fn's error rolls it back.
func (s *Store) Update(fn func(store.Tx) error) error {
	return s.db.Update(func(tx *bolt.Tx) error { return fn(&Tx{tx: tx}) })
}

// AlertState returns the state of one alert occurrence.
func (t *Tx) AlertState(ref store.AlertRef) (store.AlertState, bool, error) {
	var st store.AlertState
	ok, err := getJSON(t.tx.Bucket(bucketAlerts), []byte(ref.Key()), &st)
	return st, ok, err
}

// PutAlertState stores the state of one alert occurrence.
func (t *Tx) PutAlertState(ref store.AlertRef, st store.AlertState) error {
	return putJSON(t.tx.Bucket(bucketAlerts), []byte(ref.Key()), st)
}

// Seen reports whether an idempotency key was already accepted.
func (t *Tx) Seen(key string) (bool, error) {
	return t.tx.Bucket(bucketSeen).Get([]byte(key)) != nil, nil
}

// Enqueue appends jobs to the queue in order and marks their keys as seen.
// A job whose keys were all seen before is skipped (a duplicate webhook);
// the jobs actually queued are returned with their IDs.
func (t *Tx) Enqueue(jobs []store.Job, now time.Time) ([]store.Job, error) {
	queue, seen := t.tx.Bucket(bucketQueue), t.tx.Bucket(bucketSeen)
	var queued []store.Job
	for _, j := range jobs {
		if len(j.Keys) > 0 && allSeen(seen, j.Keys) {
			continue
		}
		id, err := queue.NextSequence()
		if err != nil {
			return nil, fmt.Errorf("allocating job id: %w", err)
		}
		j.ID, j.Enqueued = id, now
		if err := putQueued(t.tx, j); err != nil {
			return nil, fmt.Errorf("queueing job %d: %w", id, err)
		}
		for _, k := range j.Keys {
			if err := seen.Put([]byte(k), itob(uint64(now.Unix()))); err != nil {
				return nil, fmt.Errorf("marking key %q: %w", k, err)
			}
		}
		queued = append(queued, j)
	}
	return queued, nil
}

func allSeen(seen *bolt.Bucket, keys []string) bool {
	for _, k := range keys {
		if seen.Get([]byte(k)) == nil {
			return false
		}
	}
	return true
}
