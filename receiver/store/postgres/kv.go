package postgres

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Keys of values the receiver keeps with Value and SetValue.
const (
	// KeyUpdatesOffset is the next Telegram getUpdates offset (decimal).
	KeyUpdatesOffset = "telegram/updates-offset"
	// KeyHeartbeatPrefix prefixes the heartbeat state of each route.
	KeyHeartbeatPrefix = "heartbeat/"
)

// Value returns the value stored under key.
func (s *Store) Value(key string) ([]byte, bool, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var v []byte
	err := s.pool.QueryRow(ctx, "SELECT value FROM kv WHERE key = $1", key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading %q: %w", key, err)
	}
	return v, true, nil
}

// SetValue stores value under key.
func (s *Store) SetValue(key string, value []byte) error {
	ctx, cancel := s.ctx()
	defer cancel()
	_, err := s.pool.Exec(ctx, `INSERT INTO kv (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated = now()`, key, nonNil(value))
	if err != nil {
		return fmt.Errorf("storing %q: %w", key, err)
	}
	return nil
}

// SwapValue stores value under key only if the stored value is still old
// (nil: no value yet) and reports whether it did. Two receivers that both
// decide to act on the same state (say, warn that heartbeats stopped) race
// on it, and only the winner acts.
func (s *Store) SwapValue(key string, old, value []byte) (bool, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var err error
	var n int64
	if old == nil {
		tag, e := s.pool.Exec(ctx, "INSERT INTO kv (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", key, nonNil(value))
		n, err = tag.RowsAffected(), e
	} else {
		tag, e := s.pool.Exec(ctx, "UPDATE kv SET value = $3, updated = now() WHERE key = $1 AND value = $2", key, old, nonNil(value))
		n, err = tag.RowsAffected(), e
	}
	if err != nil {
		return false, fmt.Errorf("storing %q: %w", key, err)
	}
	return n == 1, nil
}

// nonNil stores a nil value as empty rather than NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return bytes.Clone(b)
}
