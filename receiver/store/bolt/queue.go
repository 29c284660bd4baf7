package bolt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/downtime-detector/downtime/receiver/store"
)

// Pending returns up to limit queued jobs in queue order (limit <= 0: all).
func (s *Store) Pending(limit int) ([]store.Job, error) {
	var jobs []store.Job
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketQueue).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var j store.Job
			if err := json.Unmarshal(v, &j); err != nil {
				return fmt.Errorf("decoding queued job %d: %w", binary.BigEndian.Uint64(k), err)
			}
			jobs = append(jobs, j)
			if limit > 0 && len(jobs) >= limit {
				break
			}
		}
		return nil
	})
	return jobs, err
}

// Complete removes a delivered job from the queue and, in the same
// transaction, records the message it produced on its alerts: a firing job
// stores the message id and text that resolved replies and edits use; an
// edit job stores the new text (store.Sent.MessageID names the edited message).
func (s *Store) Complete(job store.Job, sent []store.Sent, now time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if ok, err := deleteQueued(tx, job.ID); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("completing job %d: %w", job.ID, store.ErrNotQueued)
		}
		if err := linkMessages(tx, job, sent); err != nil {
			return err
		}
		return recordSent(&Tx{tx: tx}, job, sent, now)
	})
}

func recordSent(tx *Tx, job store.Job, sent []store.Sent, now time.Time) error {
	if !store.Records(job, sent) {
		return nil
	}
	for _, ref := range job.Alerts {
		st, _, err := tx.AlertState(ref)
		if err != nil {
			return err
		}
		if err := tx.PutAlertState(ref, store.RecordSent(job, st, sent, now)); err != nil {
			return err
		}
	}
	return nil
}

// FiringMessage returns where the firing message of an alert was sent, if it was.
func (s *Store) FiringMessage(ref store.AlertRef) (store.AlertState, bool, error) {
	var st store.AlertState
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		ok, err = getJSON(tx.Bucket(bucketAlerts), []byte(ref.Key()), &st)
		return err
	})
	return st, ok && st.MessageID != 0, err
}

// AlertStates returns the states of refs (zero values for unknown ones).
func (s *Store) AlertStates(refs []store.AlertRef) ([]store.AlertState, error) {
	out := make([]store.AlertState, len(refs))
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAlerts)
		for i, r := range refs {
			if _, err := getJSON(b, []byte(r.Key()), &out[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// DeadLetter moves a job from the queue to the dead letters in one transaction.
func (s *Store) DeadLetter(job store.Job, reason string, cause error, now time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if ok, err := deleteQueued(tx, job.ID); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("dead-lettering job %d: %w", job.ID, store.ErrNotQueued)
		}
		msg := ""
		if cause != nil {
			msg = cause.Error()
		}
		return putJSON(tx.Bucket(bucketDead), itob(job.ID), store.DeadLetter{Job: job, Reason: reason, Error: msg, At: now})
	})
}

// DeadLetters returns all dead letters, oldest first.
func (s *Store) DeadLetters() ([]store.DeadLetter, error) {
	var out []store.DeadLetter
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDead).ForEach(func(_, v []byte) error {
			var d store.DeadLetter
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("decoding dead letter: %w", err)
			}
			out = append(out, d)
			return nil
		})
	})
	return out, err
}

// Stats reads queue depth, oldest job and dead-letter count.
func (s *Store) Stats() (store.Stats, error) {
	var st store.Stats
	err := s.db.View(func(tx *bolt.Tx) error {
		q := tx.Bucket(bucketQueue)
		st.Depth = q.Stats().KeyN
		st.DeadLetters = tx.Bucket(bucketDead).Stats().KeyN
		if _, v := q.Cursor().First(); v != nil {
			var j store.Job
			if err := json.Unmarshal(v, &j); err != nil {
				return fmt.Errorf("decoding oldest job: %w", err)
			}
			st.Oldest = j.Enqueued
		}
		return nil
	})
	return st, err
}

// SetMigration records that chat from was upgraded to chat to (Telegram's
// migrate_to_chat_id); ChatFor follows it for every later send.
func (s *Store) SetMigration(from, to string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMigrations).Put([]byte(from), []byte(to))
	})
}

// ChatFor returns the chat to send to for a configured chat, following
// recorded migrations (a few hops at most, loops are cut).
func (s *Store) ChatFor(chat string) (string, error) {
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMigrations)
		for range 8 {
			to := b.Get([]byte(chat))
			if to == nil {
				return nil
			}
			chat = string(to)
		}
		return nil
	})
	return chat, err
}

// Prune deletes idempotency keys, alert states and watched parents last
// touched before cutoff (e.g. now - 7 days), keeping the database small.
// Planning touches the state of every alert it sees, so an alert that is
// still being notified is never pruned. The alert state of an open
// heartbeat warning is kept however old: the "back" reply needs its
// message id.
func (s *Store) Prune(cutoff time.Time) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		var old [][]byte
		_ = tx.Bucket(bucketSeen).ForEach(func(k, v []byte) error {
			if len(v) != 8 || int64(binary.BigEndian.Uint64(v)) < cutoff.Unix() {
				old = append(old, bytes.Clone(k))
			}
			return nil
		})
		n += len(old)
		if err := deleteKeys(tx.Bucket(bucketSeen), old); err != nil {
			return err
		}
		old = old[:0]
		keep, err := openWarnings(tx)
		if err != nil {
			return err
		}
		_ = tx.Bucket(bucketAlerts).ForEach(func(k, v []byte) error {
			if keep[string(k)] {
				return nil
			}
			var st store.AlertState
			if err := json.Unmarshal(v, &st); err != nil || st.Updated.Before(cutoff) {
				old = append(old, bytes.Clone(k))
			}
			return nil
		})
		n += len(old)
		if err := deleteKeys(tx.Bucket(bucketAlerts), old); err != nil {
			return err
		}
		np, err := pruneParents(tx, cutoff)
		n += np
		return err
	})
	return n, err
}

// deleteKeys deletes after iterating: deleting under a bbolt cursor skips keys.
func deleteKeys(b *bolt.Bucket, keys [][]byte) error {
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// RetryDeadLetters moves dead letters back to the end of the queue (see
// store.Store).
func (s *Store) RetryDeadLetters(ids []uint64, now time.Time) ([]store.Job, error) {
	var queued []store.Job
	err := s.db.Update(func(tx *bolt.Tx) error {
		dead, queue := tx.Bucket(bucketDead), tx.Bucket(bucketQueue)
		keys, err := deadKeys(dead, ids)
		if err != nil {
			return err
		}
		for _, k := range keys {
			var d store.DeadLetter
			if _, err := getJSON(dead, k, &d); err != nil {
				return err
			}
			j := d.Job
			if j.ID, err = queue.NextSequence(); err != nil {
				return fmt.Errorf("allocating job id: %w", err)
			}
			j.Enqueued = now
			if err := putQueued(tx, j); err != nil {
				return err
			}
			queued = append(queued, j)
		}
		return deleteKeys(dead, keys)
	})
	return queued, err
}

// PurgeDeadLetters deletes dead letters (see store.Store).
func (s *Store) PurgeDeadLetters(ids []uint64) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		dead := tx.Bucket(bucketDead)
		keys, err := deadKeys(dead, ids)
		if err != nil {
			return err
		}
		n = len(keys)
		return deleteKeys(dead, keys)
	})
	return n, err
}

// deadKeys returns the keys of the dead letters ids (each once), or of all
// of them when ids is empty.
func deadKeys(dead *bolt.Bucket, ids []uint64) ([][]byte, error) {
	var keys [][]byte
	if len(ids) == 0 {
		err := dead.ForEach(func(k, _ []byte) error {
			keys = append(keys, bytes.Clone(k))
			return nil
		})
		return keys, err
	}
	dup := map[uint64]bool{}
	for _, id := range ids {
		if dup[id] {
			continue
		}
		dup[id] = true
		if dead.Get(itob(id)) == nil {
			return nil, fmt.Errorf("dead letter %d: %w", id, store.ErrNoDeadLetter)
		}
		keys = append(keys, itob(id))
	}
	return keys, nil
}
