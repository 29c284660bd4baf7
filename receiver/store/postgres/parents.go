package postgres

import (
	"encoding/json"
	"fmt"

	"github.com/downtime-detector/downtime/receiver/store"
)

// WatchParent stores p under p.Ref (store.ParentsTx).
func (t *Tx) WatchParent(p store.Parent) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(t.ctx, `INSERT INTO parents (key, state, updated) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET state = EXCLUDED.state, updated = EXCLUDED.updated`,
		p.Ref.Key(), raw, p.Updated)
	if err != nil {
		return fmt.Errorf("storing parent %q: %w", p.Ref.Key(), err)
	}
	return nil
}

// UnwatchParent deletes the entry of ref (store.ParentsTx).
func (t *Tx) UnwatchParent(ref store.AlertRef) error {
	if _, err := t.tx.Exec(t.ctx, "DELETE FROM parents WHERE key = $1", ref.Key()); err != nil {
		return fmt.Errorf("deleting parent %q: %w", ref.Key(), err)
	}
	return nil
}

// WatchedParents returns every watched parent, ordered by Ref.Key()
// (store.Parents).
func (s *Store) WatchedParents() ([]store.Parent, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT key, state FROM parents ORDER BY key COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("reading parents: %w", err)
	}
	defer rows.Close()
	var out []store.Parent
	for rows.Next() {
		var key string
		var raw []byte
		if err := rows.Scan(&key, &raw); err != nil {
			return nil, err
		}
		var p store.Parent
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("decoding parent %q: %w", key, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
