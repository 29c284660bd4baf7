package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/downtime-detector/downtime/receiver/incident"
	"github.com/downtime-detector/downtime/receiver/store"
)

var (
	_ store.IncidentTx    = (*Tx)(nil)
	_ store.IncidentStore = (*Store)(nil)
	_ incident.Log        = incidentLog{}
)

// OpenIncident implements store.IncidentTx.
func (t *Tx) OpenIncident(inc incident.Incident) (incident.Incident, error) {
	return openIncident(t.ctx, t.tx, inc)
}

// ResolveIncident implements store.IncidentTx.
func (t *Tx) ResolveIncident(key incident.Key, end time.Time) (incident.Incident, error) {
	return resolveIncident(t.ctx, t.tx, key, end)
}

// scanIncident reads one row of (id, record).
func scanIncident(row pgx.Row) (incident.Incident, error) {
	var id int64
	var raw []byte
	var inc incident.Incident
	if err := row.Scan(&id, &raw); err != nil {
		return inc, err
	}
	if err := json.Unmarshal(raw, &inc); err != nil {
		return inc, fmt.Errorf("decoding incident %d: %w", id, err)
	}
	inc.ID = uint64(id)
	return inc, nil
}

// putIncident writes inc (which has its ID) back.
func putIncident(ctx context.Context, q querier, inc incident.Incident) error {
	raw, err := json.Marshal(inc)
	if err != nil {
		return err
	}
	var end *time.Time
	if !inc.Open() {
		end = &inc.End
	}
	_, err = q.Exec(ctx, "UPDATE incidents SET start_at = $2, end_at = $3, record = $4 WHERE id = $1",
		int64(inc.ID), inc.Start, end, raw)
	if err != nil {
		return fmt.Errorf("storing incident %d: %w", inc.ID, err)
	}
	return nil
}

func openRow(ctx context.Context, q querier, key incident.Key) (incident.Incident, error) {
	return scanIncident(q.QueryRow(ctx, `SELECT id, record FROM incidents
		WHERE route = $1 AND fingerprint = $2 AND end_at IS NULL FOR UPDATE`, key.Route, key.Fingerprint))
}

func openIncident(ctx context.Context, q querier, inc incident.Incident) (incident.Incident, error) {
	if err := inc.CheckOpen(); err != nil {
		return incident.Incident{}, err
	}
	cur, err := openRow(ctx, q, inc.Key)
	switch {
	case err == nil:
		if inc.Start.Before(cur.Start) {
			cur.Start = inc.Start
			return cur, putIncident(ctx, q, cur)
		}
		return cur, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return incident.Incident{}, fmt.Errorf("reading open incident %v: %w", inc.Key, err)
	}
	inc = inc.Clone()
	inc.ID, inc.End = 0, time.Time{}
	var id int64
	err = q.QueryRow(ctx, `INSERT INTO incidents (route, fingerprint, target, start_at, record)
		VALUES ($1, $2, $3, $4, '{}') RETURNING id`, inc.Route, inc.Fingerprint, inc.Target, inc.Start).Scan(&id)
	if err != nil {
		return incident.Incident{}, fmt.Errorf("opening incident %v: %w", inc.Key, err)
	}
	inc.ID = uint64(id)
	return inc, putIncident(ctx, q, inc)
}

func resolveIncident(ctx context.Context, q querier, key incident.Key, end time.Time) (incident.Incident, error) {
	if end.IsZero() {
		return incident.Incident{}, errors.New("resolving an incident: zero end time")
	}
	inc, err := openRow(ctx, q, key)
	if errors.Is(err, pgx.ErrNoRows) {
		return incident.Incident{}, incident.ErrNotOpen
	}
	if err != nil {
		return incident.Incident{}, fmt.Errorf("reading open incident %v: %w", key, err)
	}
	inc.End = end
	if inc.End.Before(inc.Start) {
		inc.End = inc.Start
	}
	return inc, putIncident(ctx, q, inc)
}

// linkMessages adds the messages a delivered job sent to the latest
// incident of each of its alerts (part of Complete's transaction).
func linkMessages(ctx context.Context, q querier, job store.Job, sent []store.Sent) error {
	refs := store.IncidentMessages(job, sent)
	if len(refs) == 0 {
		return nil
	}
	for _, a := range job.Alerts {
		inc, err := scanIncident(q.QueryRow(ctx, `SELECT id, record FROM incidents
			WHERE route = $1 AND fingerprint = $2 ORDER BY id DESC LIMIT 1 FOR UPDATE`, a.Route, a.Fingerprint))
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading incident of %s: %w", a.Fingerprint, err)
		}
		for _, m := range refs {
			incident.Note{Message: &m}.Apply(&inc)
		}
		if err := putIncident(ctx, q, inc); err != nil {
			return err
		}
	}
	return nil
}

// Incidents returns the incident log kept in the database.
func (s *Store) Incidents() incident.Log { return incidentLog{s} }

// incidentLog is incident.Log over the store; each call is one transaction.
type incidentLog struct{ s *Store }

// update runs fn in one serializable transaction (again on conflicts).
func (l incidentLog) update(ctx context.Context, fn func(pgx.Tx) error) error {
	ctx, cancel := context.WithTimeout(ctx, l.s.timeout)
	defer cancel()
	return l.s.serializable(ctx, fn)
}

// Open implements incident.Log.
func (l incidentLog) Open(ctx context.Context, inc incident.Incident) (out incident.Incident, err error) {
	err = l.update(ctx, func(tx pgx.Tx) error {
		out, err = openIncident(ctx, tx, inc)
		return err
	})
	return out, err
}

// Resolve implements incident.Log.
func (l incidentLog) Resolve(ctx context.Context, key incident.Key, end time.Time) (out incident.Incident, err error) {
	err = l.update(ctx, func(tx pgx.Tx) error {
		out, err = resolveIncident(ctx, tx, key, end)
		return err
	})
	return out, err
}

// Annotate implements incident.Log.
func (l incidentLog) Annotate(ctx context.Context, id uint64, n incident.Note) (out incident.Incident, err error) {
	err = l.update(ctx, func(tx pgx.Tx) error {
		inc, err := scanIncident(tx.QueryRow(ctx, "SELECT id, record FROM incidents WHERE id = $1 FOR UPDATE", int64(id)))
		if errors.Is(err, pgx.ErrNoRows) {
			return incident.ErrNotFound
		}
		if err != nil {
			return err
		}
		n.Apply(&inc)
		out = inc
		return putIncident(ctx, tx, inc)
	})
	return out, err
}

// List implements incident.Log. The columns narrow the rows; Filter.Match
// on the decoded record has the last word, so both stores agree to the
// nanosecond.
func (l incidentLog) List(ctx context.Context, f incident.Filter) ([]incident.Incident, error) {
	ctx, cancel := context.WithTimeout(ctx, l.s.timeout)
	defer cancel()
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	switch f.State {
	case incident.StateOpen:
		where = append(where, "end_at IS NULL")
	case incident.StateResolved:
		where = append(where, "end_at IS NOT NULL")
	}
	if f.Target != "" {
		where = append(where, "target = "+arg(f.Target))
	}
	if f.Route != "" {
		where = append(where, "route = "+arg(f.Route))
	}
	if !f.Since.IsZero() { // a microsecond of slack: the column is rounded
		where = append(where, "(end_at IS NULL OR end_at >= "+arg(f.Since.Add(-time.Microsecond))+")")
	}
	if !f.Until.IsZero() {
		where = append(where, "start_at < "+arg(f.Until.Add(time.Microsecond)))
	}
	sql := "SELECT id, record FROM incidents"
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := l.s.pool.Query(ctx, sql+" ORDER BY start_at DESC, id DESC", args...)
	if err != nil {
		return nil, fmt.Errorf("listing incidents: %w", err)
	}
	defer rows.Close()
	out := []incident.Incident{}
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, err
		}
		if f.Match(inc) {
			out = append(out, inc)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing incidents: %w", err)
	}
	incident.Sort(out)
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// Prune implements incident.Log.
func (l incidentLog) Prune(ctx context.Context, now time.Time, retention time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, l.s.timeout)
	defer cancel()
	tag, err := l.s.pool.Exec(ctx, "DELETE FROM incidents WHERE end_at IS NOT NULL AND end_at < $1",
		incident.Cutoff(now, retention))
	if err != nil {
		return 0, fmt.Errorf("pruning incidents: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
