package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Pending returns up to limit queued jobs in queue order (limit <= 0: all).
func (s *Store) Pending(limit int) ([]Job, error) {
	var jobs []Job
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketQueue).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var j Job
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

// Sent records what a delivered job produced in Telegram.
type Sent struct {
	ChatID    string // chat actually used (after migration)
	MessageID int    // firing: the new message; edit: the edited message
	Text      string // firing: text sent; edit: the new text
}

// Complete removes a delivered job from the queue and, in the same
// transaction, records the message it produced on its alerts: a firing job
// stores the message id and text that resolved replies and edits use; an
// edit job stores the new text (Sent.MessageID names the edited message).
func (s *Store) Complete(job Job, sent []Sent, now time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		q := tx.Bucket(bucketQueue)
		if q.Get(itob(job.ID)) == nil {
			return fmt.Errorf("completing job %d: %w", job.ID, ErrNotQueued)
		}
		if err := q.Delete(itob(job.ID)); err != nil {
			return err
		}
		return recordSent(&Tx{tx: tx}, job, sent, now)
	})
}

func recordSent(tx *Tx, job Job, sent []Sent, now time.Time) error {
	if len(sent) == 0 || (job.Kind != KindFiring && job.Kind != KindEdit) {
		return nil
	}
	for _, ref := range job.Alerts {
		st, _, err := tx.AlertState(ref)
		if err != nil {
			return err
		}
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
		if err := tx.PutAlertState(ref, st); err != nil {
			return err
		}
	}
	return nil
}

// FiringMessage returns where the firing message of an alert was sent, if it was.
func (s *Store) FiringMessage(ref AlertRef) (AlertState, bool, error) {
	var st AlertState
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		ok, err = getJSON(tx.Bucket(bucketAlerts), []byte(ref.Key()), &st)
		return err
	})
	return st, ok && st.MessageID != 0, err
}

// AlertStates returns the states of refs (zero values for unknown ones).
func (s *Store) AlertStates(refs []AlertRef) ([]AlertState, error) {
	out := make([]AlertState, len(refs))
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
func (s *Store) DeadLetter(job Job, reason string, cause error, now time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		q := tx.Bucket(bucketQueue)
		if q.Get(itob(job.ID)) == nil {
			return fmt.Errorf("dead-lettering job %d: %w", job.ID, ErrNotQueued)
		}
		if err := q.Delete(itob(job.ID)); err != nil {
			return err
		}
		msg := ""
		if cause != nil {
			msg = cause.Error()
		}
		return putJSON(tx.Bucket(bucketDead), itob(job.ID), DeadLetter{Job: job, Reason: reason, Error: msg, At: now})
	})
}

// DeadLetters returns all dead letters, oldest first.
func (s *Store) DeadLetters() ([]DeadLetter, error) {
	var out []DeadLetter
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDead).ForEach(func(_, v []byte) error {
			var d DeadLetter
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("decoding dead letter: %w", err)
			}
			out = append(out, d)
			return nil
		})
	})
	return out, err
}

// Stats is a snapshot for metrics.
type Stats struct {
	Depth       int       // queued jobs
	Oldest      time.Time // enqueue time of the oldest queued job (zero when empty)
	DeadLetters int
}

// Stats reads queue depth, oldest job and dead-letter count.
func (s *Store) Stats() (Stats, error) {
	var st Stats
	err := s.db.View(func(tx *bolt.Tx) error {
		q := tx.Bucket(bucketQueue)
		st.Depth = q.Stats().KeyN
		st.DeadLetters = tx.Bucket(bucketDead).Stats().KeyN
		if _, v := q.Cursor().First(); v != nil {
			var j Job
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

// Prune deletes idempotency keys and alert states last touched before
// cutoff (e.g. now - 7 days), keeping the database small. Planning touches
// the state of every alert it sees, so an alert that is still being
// notified is never pruned.
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
		_ = tx.Bucket(bucketAlerts).ForEach(func(k, v []byte) error {
			var st AlertState
			if err := json.Unmarshal(v, &st); err != nil || st.Updated.Before(cutoff) {
				old = append(old, bytes.Clone(k))
			}
			return nil
		})
		n += len(old)
		return deleteKeys(tx.Bucket(bucketAlerts), old)
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
