package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/downtime-detector/downtime/receiver/store"
)

// RetryDeadLetters moves dead letters back to the end of the queue, with
// new job ids and their keys unchanged (see store.Store).
func (s *Store) RetryDeadLetters(ids []uint64, now time.Time) ([]store.Job, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var queued []store.Job
	err := s.serializable(ctx, func(tx pgx.Tx) error {
		queued = nil
		letters, err := deadLetters(ctx, tx, ids)
		if err != nil {
			return err
		}
		for _, d := range letters {
			j := d.Job
			j.ID, j.Enqueued = 0, now
			raw, err := json.Marshal(j)
			if err != nil {
				return err
			}
			var id int64
			if err := tx.QueryRow(ctx, "INSERT INTO queue (job) VALUES ($1) RETURNING id", raw).Scan(&id); err != nil {
				return fmt.Errorf("queueing dead letter %d again: %w", d.Job.ID, err)
			}
			if _, err := tx.Exec(ctx, "DELETE FROM dead_letters WHERE id = $1", int64(d.Job.ID)); err != nil {
				return err
			}
			j.ID = uint64(id)
			queued = append(queued, j)
		}
		return nil
	})
	return queued, err
}

// PurgeDeadLetters deletes dead letters (see store.Store).
func (s *Store) PurgeDeadLetters(ids []uint64) (int, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	n := 0
	err := s.serializable(ctx, func(tx pgx.Tx) error {
		letters, err := deadLetters(ctx, tx, ids)
		if err != nil {
			return err
		}
		n = len(letters)
		for _, d := range letters {
			if _, err := tx.Exec(ctx, "DELETE FROM dead_letters WHERE id = $1", int64(d.Job.ID)); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// deadLetters reads the dead letters ids (each once, in the order given),
// or all of them, oldest first, when ids is empty; an unknown id is
// store.ErrNoDeadLetter.
func deadLetters(ctx context.Context, q querier, ids []uint64) ([]store.DeadLetter, error) {
	if len(ids) == 0 {
		rows, err := q.Query(ctx, "SELECT id, letter FROM dead_letters ORDER BY id")
		if err != nil {
			return nil, fmt.Errorf("reading dead letters: %w", err)
		}
		defer rows.Close()
		var out []store.DeadLetter
		for rows.Next() {
			var id int64
			var raw []byte
			if err := rows.Scan(&id, &raw); err != nil {
				return nil, err
			}
			d, err := decodeLetter(id, raw)
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		}
		return out, rows.Err()
	}
	var out []store.DeadLetter
	dup := map[uint64]bool{}
	for _, id := range ids {
		if dup[id] {
			continue
		}
		dup[id] = true
		var raw []byte
		err := q.QueryRow(ctx, "SELECT letter FROM dead_letters WHERE id = $1", int64(id)).Scan(&raw)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("dead letter %d: %w", id, store.ErrNoDeadLetter)
		}
		if err != nil {
			return nil, fmt.Errorf("reading dead letter %d: %w", id, err)
		}
		d, err := decodeLetter(int64(id), raw)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// decodeLetter decodes a dead letter; its job keeps the id it had in the
// queue, which is the row's id.
func decodeLetter(id int64, raw []byte) (store.DeadLetter, error) {
	var d store.DeadLetter
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, fmt.Errorf("decoding dead letter %d: %w", id, err)
	}
	d.Job.ID = uint64(id)
	return d, nil
}
