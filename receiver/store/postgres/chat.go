package postgres

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/downtime-detector/downtime/receiver/chat"
	"github.com/downtime-detector/downtime/receiver/store"
)

var _ store.Chat = (*Store)(nil)

// PutAction records a new callback key; a key is written once.
func (s *Store) PutAction(key string, r chat.ActionRecord) error {
	if key == "" {
		return errors.New("empty callback key")
	}
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	tag, err := s.pool.Exec(ctx, "INSERT INTO chat_actions (key, record) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", key, raw)
	if err != nil {
		return fmt.Errorf("storing callback key: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("callback key %q already used", key)
	}
	return nil
}

// Action returns the record of key or chat.ErrUnknownKey.
func (s *Store) Action(key string) (chat.ActionRecord, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var r chat.ActionRecord
	var raw []byte
	err := s.pool.QueryRow(ctx, "SELECT record FROM chat_actions WHERE key = $1", key).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, chat.ErrUnknownKey
	}
	if err != nil {
		return r, fmt.Errorf("reading callback key: %w", err)
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, fmt.Errorf("decoding callback key %q: %w", key, err)
	}
	return r, nil
}

// UpdateAction reads, changes and writes a record in one SERIALIZABLE
// transaction (f may run again after a conflict with another receiver).
func (s *Store) UpdateAction(key string, f func(*chat.ActionRecord) error) error {
	ctx, cancel := s.ctx()
	defer cancel()
	return s.serializable(ctx, func(tx pgx.Tx) error {
		var raw []byte
		err := tx.QueryRow(ctx, "SELECT record FROM chat_actions WHERE key = $1", key).Scan(&raw)
		if errors.Is(err, pgx.ErrNoRows) {
			return chat.ErrUnknownKey
		}
		if err != nil {
			return fmt.Errorf("reading callback key: %w", err)
		}
		var r chat.ActionRecord
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("decoding callback key %q: %w", key, err)
		}
		if err := f(&r); err != nil {
			return err
		}
		if raw, err = json.Marshal(r); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "UPDATE chat_actions SET record = $2, updated = now() WHERE key = $1", key, raw)
		return err
	})
}

// UpdatesOffset is the next getUpdates offset (0 at first).
func (s *Store) UpdatesOffset() (int, error) {
	v, ok, err := s.Value(KeyUpdatesOffset)
	if err != nil || !ok || len(v) == 0 {
		return 0, err
	}
	o, err := strconv.Atoi(string(v))
	if err != nil {
		return 0, fmt.Errorf("reading %q: %w", KeyUpdatesOffset, err)
	}
	return o, nil
}

// SetUpdatesOffset stores the next getUpdates offset; it never goes back.
func (s *Store) SetUpdatesOffset(offset int) error {
	if offset < 0 {
		return fmt.Errorf("updates offset %d is negative", offset)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	tag, err := s.pool.Exec(ctx, `INSERT INTO kv (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated = now()
		WHERE kv.value = '' OR convert_from(kv.value, 'UTF8')::bigint <= $3`,
		KeyUpdatesOffset, []byte(strconv.Itoa(offset)), int64(offset))
	if err != nil {
		return fmt.Errorf("storing %q: %w", KeyUpdatesOffset, err)
	}
	if tag.RowsAffected() != 1 {
		return errors.New("updates offset must not go back")
	}
	return nil
}

// FiringAlerts lists the alerts held as firing.
func (s *Store) FiringAlerts() ([]store.Held, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT key, state FROM alert_states
		WHERE (state->>'firing')::boolean AND NOT coalesce((state->>'resolved')::boolean, false)`)
	if err != nil {
		return nil, fmt.Errorf("listing firing alerts: %w", err)
	}
	defer rows.Close()
	var out []store.Held
	for rows.Next() {
		var key string
		var raw []byte
		if err := rows.Scan(&key, &raw); err != nil {
			return nil, fmt.Errorf("listing firing alerts: %w", err)
		}
		var st store.AlertState
		if json.Unmarshal(raw, &st) != nil || !st.Holding() {
			continue
		}
		ref, err := store.ParseAlertKey(key)
		if err != nil {
			continue
		}
		out = append(out, store.Held{Ref: ref, State: st})
	}
	return out, rows.Err()
}

// keyReconcileState is the kv key of the reconciler's state.
const keyReconcileState = "reconcile/state"

// ReconcileState returns the reconciler's saved state (nil when never set).
func (s *Store) ReconcileState() ([]byte, error) {
	v, ok, err := s.Value(keyReconcileState)
	if !ok {
		return nil, err
	}
	return v, err
}

// SetReconcileState saves the reconciler's state.
func (s *Store) SetReconcileState(state []byte) error { return s.SetValue(keyReconcileState, state) }
