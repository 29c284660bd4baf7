package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/downtime-detector/downtime/receiver/store"
)

// querier is what pgxpool.Pool and pgx.Tx have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// scanJobs reads (id, job) rows.
func scanJobs(rows pgx.Rows) ([]store.Job, error) {
	defer rows.Close()
	var jobs []store.Job
	for rows.Next() {
		var id int64
		var raw []byte
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, err
		}
		var j store.Job
		if err := json.Unmarshal(raw, &j); err != nil {
			return nil, fmt.Errorf("decoding queued job %d: %w", id, err)
		}
		j.ID = uint64(id)
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

// Pending returns up to limit queued jobs in queue order (limit <= 0: all),
// claimed or not. Ids are taken at insert and transactions commit in their
// own order, so a job may become visible after one with a higher id: only
// for notifications planned at the same moment, which have no order between
// them; a job planned after another committed always has a higher id.
func (s *Store) Pending(limit int) ([]store.Job, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	rows, err := s.pool.Query(ctx, "SELECT id, job FROM queue ORDER BY id LIMIT $1", lim)
	if err != nil {
		return nil, fmt.Errorf("reading queue: %w", err)
	}
	return scanJobs(rows)
}

// Claim gives holder up to limit queued jobs, in queue order, that no other
// holder has claimed until after now, and claims them until now+ttl. Two
// workers claiming at once never get the same job (FOR UPDATE SKIP LOCKED);
// a worker that dies loses its claims when they expire. Jobs of one chat
// must still be sent in order (a resolved reply after its firing message),
// so a deployment that drains with claims keeps one claimer at a time per
// chat, or drains under a lease (TryLease) instead.
func (s *Store) Claim(holder string, limit int, ttl time.Duration, now time.Time) ([]store.Job, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	rows, err := s.pool.Query(ctx, `UPDATE queue SET claimed_by = $1, claimed_until = $2
		WHERE id IN (
			SELECT id FROM queue WHERE claimed_until IS NULL OR claimed_until <= $3
			ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING id, job`, holder, now.Add(ttl), now, limit)
	if err != nil {
		return nil, fmt.Errorf("claiming jobs: %w", err)
	}
	jobs, err := scanJobs(rows)
	if err != nil {
		return nil, fmt.Errorf("claiming jobs: %w", err)
	}
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].ID < jobs[j].ID })
	return jobs, nil
}

// Complete removes a delivered job from the queue and, in the same
// transaction, records the message it produced on its alerts (see
// store.Store.Complete). It returns store.ErrNotQueued when the job is no
// longer queued.
func (s *Store) Complete(job store.Job, sent []store.Sent, now time.Time) error {
	ctx, cancel := s.ctx()
	defer cancel()
	return s.serializable(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM queue WHERE id = $1", int64(job.ID))
		if err != nil {
			return fmt.Errorf("completing job %d: %w", job.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("completing job %d: %w", job.ID, store.ErrNotQueued)
		}
		if err := linkMessages(ctx, tx, job, sent); err != nil {
			return err
		}
		return recordSent(ctx, tx, job, sent, now)
	})
}

// recordSent applies store.RecordSent to every alert of a delivered job.
func recordSent(ctx context.Context, q querier, job store.Job, sent []store.Sent, now time.Time) error {
	if !store.Records(job, sent) {
		return nil
	}
	for _, ref := range job.Alerts {
		st, _, err := alertState(ctx, q, ref)
		if err != nil {
			return err
		}
		if err := putAlertState(ctx, q, ref, store.RecordSent(job, st, sent, now)); err != nil {
			return err
		}
	}
	return nil
}

// FiringMessage returns where the firing message of an alert was sent, if it was.
func (s *Store) FiringMessage(ref store.AlertRef) (store.AlertState, bool, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	st, ok, err := alertState(ctx, s.pool, ref)
	return st, ok && st.MessageID != 0, err
}

// AlertStates returns the states of refs (zero values for unknown ones).
func (s *Store) AlertStates(refs []store.AlertRef) ([]store.AlertState, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	out := make([]store.AlertState, len(refs))
	keys := make([]string, len(refs))
	for i, r := range refs {
		keys[i] = r.Key()
	}
	rows, err := s.pool.Query(ctx, "SELECT key, state FROM alert_states WHERE key = ANY($1)", keys)
	if err != nil {
		return nil, fmt.Errorf("reading alert states: %w", err)
	}
	found := map[string][]byte{}
	for rows.Next() {
		var k string
		var raw []byte
		if err := rows.Scan(&k, &raw); err != nil {
			rows.Close()
			return nil, err
		}
		found[k] = raw
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading alert states: %w", err)
	}
	for i, k := range keys {
		if raw, ok := found[k]; ok {
			if err := json.Unmarshal(raw, &out[i]); err != nil {
				return nil, fmt.Errorf("decoding alert state %q: %w", k, err)
			}
		}
	}
	return out, nil
}

// DeadLetter moves a job from the queue to the dead letters in one transaction.
func (s *Store) DeadLetter(job store.Job, reason string, cause error, now time.Time) error {
	ctx, cancel := s.ctx()
	defer cancel()
	msg := ""
	if cause != nil {
		msg = cause.Error()
	}
	raw, err := json.Marshal(store.DeadLetter{Job: job, Reason: reason, Error: msg, At: now})
	if err != nil {
		return err
	}
	return s.serializable(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM queue WHERE id = $1", int64(job.ID))
		if err != nil {
			return fmt.Errorf("dead-lettering job %d: %w", job.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("dead-lettering job %d: %w", job.ID, store.ErrNotQueued)
		}
		_, err = tx.Exec(ctx, "INSERT INTO dead_letters (id, letter) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET letter = EXCLUDED.letter", int64(job.ID), raw)
		return err
	})
}

// DeadLetters returns all dead letters, oldest first.
func (s *Store) DeadLetters() ([]store.DeadLetter, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	rows, err := s.pool.Query(ctx, "SELECT letter FROM dead_letters ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("reading dead letters: %w", err)
	}
	defer rows.Close()
	var out []store.DeadLetter
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		var d store.DeadLetter
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, fmt.Errorf("decoding dead letter: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Stats reads queue depth, oldest job and dead-letter count.
func (s *Store) Stats() (store.Stats, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var st store.Stats
	var oldest []byte
	err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM queue), (SELECT count(*) FROM dead_letters),
		(SELECT job FROM queue ORDER BY id LIMIT 1)`).Scan(&st.Depth, &st.DeadLetters, &oldest)
	if err != nil {
		return st, fmt.Errorf("reading queue stats: %w", err)
	}
	if oldest != nil {
		var j store.Job
		if err := json.Unmarshal(oldest, &j); err != nil {
			return st, fmt.Errorf("decoding oldest job: %w", err)
		}
		st.Oldest = j.Enqueued
	}
	return st, nil
}

// SetMigration records that chat from was upgraded to chat to (Telegram's
// migrate_to_chat_id); ChatFor follows it for every later send.
func (s *Store) SetMigration(from, to string) error {
	ctx, cancel := s.ctx()
	defer cancel()
	_, err := s.pool.Exec(ctx, `INSERT INTO chat_migrations (from_chat, to_chat) VALUES ($1, $2)
		ON CONFLICT (from_chat) DO UPDATE SET to_chat = EXCLUDED.to_chat`, from, to)
	if err != nil {
		return fmt.Errorf("recording chat migration: %w", err)
	}
	return nil
}

// ChatFor returns the chat to send to for a configured chat, following
// recorded migrations (a few hops at most, loops are cut).
func (s *Store) ChatFor(chat string) (string, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	for range 8 {
		var to string
		err := s.pool.QueryRow(ctx, "SELECT to_chat FROM chat_migrations WHERE from_chat = $1", chat).Scan(&to)
		if errors.Is(err, pgx.ErrNoRows) {
			return chat, nil
		}
		if err != nil {
			return chat, fmt.Errorf("reading chat migration: %w", err)
		}
		chat = to
	}
	return chat, nil
}

// Prune deletes idempotency keys, alert states and watched parents last
// touched before cutoff, except the states of open heartbeat warnings, and
// returns how many (see store.Store.Prune).
func (s *Store) Prune(cutoff time.Time) (int, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	n := 0
	err := s.serializable(ctx, func(tx pgx.Tx) error {
		keys, err := tx.Exec(ctx, "DELETE FROM seen_keys WHERE seen_unix < $1", cutoff.Unix())
		if err != nil {
			return err
		}
		hs, err := heartbeats(ctx, tx)
		if err != nil {
			return err
		}
		keep := []string{} // never NULL: key <> ALL(NULL) is NULL and would keep everything
		for k := range store.OpenWarningKeys(hs) {
			keep = append(keep, k)
		}
		states, err := tx.Exec(ctx, "DELETE FROM alert_states WHERE updated < $1 AND key <> ALL($2)", cutoff, keep)
		if err != nil {
			return err
		}
		parents, err := tx.Exec(ctx, "DELETE FROM parents WHERE updated < $1", cutoff)
		if err != nil {
			return err
		}
		n = int(keys.RowsAffected() + states.RowsAffected() + parents.RowsAffected())
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("pruning: %w", err)
	}
	return n, nil
}
