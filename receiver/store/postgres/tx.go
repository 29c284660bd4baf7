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

// Tx is a read-write transaction used to plan and enqueue one notification
// atomically, like store.Tx: alert states read, jobs queued and keys marked
// all commit together or not at all.
type Tx struct {
	ctx context.Context
	tx  pgx.Tx
}

var (
	_ store.Store = (*Store)(nil)
	_ store.Tx    = (*Tx)(nil)
)

// Update runs fn in one SERIALIZABLE transaction; fn's error rolls it back.
// When a concurrent receiver's transaction conflicts, fn runs again on the
// new state, so it must not act outside tx (store into its own variables,
// which the last run overwrites).
func (s *Store) Update(fn func(store.Tx) error) error {
	ctx, cancel := s.ctx()
	defer cancel()
	return s.serializable(ctx, func(ptx pgx.Tx) error {
		return fn(&Tx{ctx: ctx, tx: ptx})
	})
}

// AlertState returns the state of one alert occurrence.
func (t *Tx) AlertState(ref store.AlertRef) (store.AlertState, bool, error) {
	return alertState(t.ctx, t.tx, ref)
}

func alertState(ctx context.Context, q querier, ref store.AlertRef) (store.AlertState, bool, error) {
	var st store.AlertState
	var raw []byte
	err := q.QueryRow(ctx, "SELECT state FROM alert_states WHERE key = $1", ref.Key()).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, false, nil
	}
	if err != nil {
		return st, false, fmt.Errorf("reading alert state %q: %w", ref.Key(), err)
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, false, fmt.Errorf("decoding alert state %q: %w", ref.Key(), err)
	}
	return st, true, nil
}

// PutAlertState stores the state of one alert occurrence.
func (t *Tx) PutAlertState(ref store.AlertRef, st store.AlertState) error {
	return putAlertState(t.ctx, t.tx, ref, st)
}

func putAlertState(ctx context.Context, q querier, ref store.AlertRef, st store.AlertState) error {
	raw, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = q.Exec(ctx, `INSERT INTO alert_states (key, state, updated) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET state = EXCLUDED.state, updated = EXCLUDED.updated`,
		ref.Key(), raw, st.Updated)
	if err != nil {
		return fmt.Errorf("storing alert state %q: %w", ref.Key(), err)
	}
	return nil
}

// Seen reports whether an idempotency key was already accepted.
func (t *Tx) Seen(key string) (bool, error) {
	var n int
	if err := t.tx.QueryRow(t.ctx, "SELECT count(*) FROM seen_keys WHERE key = $1", key).Scan(&n); err != nil {
		return false, fmt.Errorf("reading key %q: %w", key, err)
	}
	return n > 0, nil
}

// Enqueue appends jobs to the queue in order and marks their keys as seen.
// A job whose keys were all seen before is skipped (a duplicate webhook, or
// the same notification already queued by another receiver); the jobs
// actually queued are returned with their IDs.
func (t *Tx) Enqueue(jobs []store.Job, now time.Time) ([]store.Job, error) {
	var queued []store.Job
	for _, j := range jobs {
		if len(j.Keys) > 0 {
			fresh, err := t.markKeys(j.Keys, now)
			if err != nil {
				return nil, err
			}
			if fresh == 0 {
				continue
			}
		}
		j.ID, j.Enqueued = 0, now
		raw, err := json.Marshal(j)
		if err != nil {
			return nil, err
		}
		var id int64
		if err := t.tx.QueryRow(t.ctx, "INSERT INTO queue (job) VALUES ($1) RETURNING id", raw).Scan(&id); err != nil {
			return nil, fmt.Errorf("queueing job: %w", err)
		}
		j.ID = uint64(id)
		queued = append(queued, j)
	}
	return queued, nil
}

// markKeys marks keys as seen at now and returns how many were new. The
// insert is the exactly-once point between receivers: a second receiver
// inserting the same key waits for the first one's transaction and then
// fails to serialize; its retry finds the key seen.
func (t *Tx) markKeys(keys []string, now time.Time) (int, error) {
	tag, err := t.tx.Exec(t.ctx, `INSERT INTO seen_keys (key, seen_unix) SELECT DISTINCT k, $2::bigint FROM unnest($1::text[]) AS k
		ON CONFLICT (key) DO NOTHING`, keys, now.Unix())
	if err != nil {
		return 0, fmt.Errorf("marking keys %q: %w", keys, err)
	}
	fresh := int(tag.RowsAffected())
	if fresh > 0 {
		// Keys seen before are marked again, as bbolt's Put overwrites them.
		if _, err := t.tx.Exec(t.ctx, "UPDATE seen_keys SET seen_unix = $2 WHERE key = ANY($1) AND seen_unix <> $2", keys, now.Unix()); err != nil {
			return 0, fmt.Errorf("marking keys %q: %w", keys, err)
		}
	}
	return fresh, nil
}
