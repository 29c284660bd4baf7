package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/downtime-detector/downtime/receiver/store"
)

// Heartbeat returns the state of one heartbeat source (store.HeartbeatTx).
func (t *Tx) Heartbeat(source string) (store.Heartbeat, bool, error) {
	var h store.Heartbeat
	var raw []byte
	err := t.tx.QueryRow(t.ctx, "SELECT state FROM heartbeats WHERE source = $1", source).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return h, false, nil
	}
	if err != nil {
		return h, false, fmt.Errorf("reading heartbeat %q: %w", source, err)
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return h, false, fmt.Errorf("decoding heartbeat %q: %w", source, err)
	}
	return h, true, nil
}

// PutHeartbeat stores the state of h.Source (store.HeartbeatTx).
func (t *Tx) PutHeartbeat(h store.Heartbeat) error {
	raw, err := json.Marshal(h)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(t.ctx, `INSERT INTO heartbeats (source, state) VALUES ($1, $2)
		ON CONFLICT (source) DO UPDATE SET state = EXCLUDED.state`, h.Source, raw)
	if err != nil {
		return fmt.Errorf("storing heartbeat %q: %w", h.Source, err)
	}
	return nil
}

// Heartbeats returns every heartbeat source's state, ordered by source
// (store.Heartbeats).
func (s *Store) Heartbeats() ([]store.Heartbeat, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	return heartbeats(ctx, s.pool)
}

func heartbeats(ctx context.Context, q querier) ([]store.Heartbeat, error) {
	rows, err := q.Query(ctx, "SELECT source, state FROM heartbeats ORDER BY source COLLATE \"C\"")
	if err != nil {
		return nil, fmt.Errorf("reading heartbeats: %w", err)
	}
	defer rows.Close()
	var out []store.Heartbeat
	for rows.Next() {
		var src string
		var raw []byte
		if err := rows.Scan(&src, &raw); err != nil {
			return nil, err
		}
		var h store.Heartbeat
		if err := json.Unmarshal(raw, &h); err != nil {
			return nil, fmt.Errorf("decoding heartbeat %q: %w", src, err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}
