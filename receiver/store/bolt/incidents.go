package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/downtime-detector/downtime/receiver/incident"
	"github.com/downtime-detector/downtime/receiver/store"
)

// The incident log: incidents by id (big-endian, so in opening order) as
// JSON, the id of the open incident of each key, and the id of the latest
// incident of each key (open or not: a resolved reply links to it).
var (
	bucketIncidents     = []byte("incidents")
	bucketOpenIncidents = []byte("incidents_open")
	bucketLastIncidents = []byte("incidents_last")
)

var (
	_ store.IncidentTx    = (*Tx)(nil)
	_ store.IncidentStore = (*Store)(nil)
	_ incident.Log        = incidentLog{}
)

// openKey is the key of the open incident of k in bucketOpenIncidents. A
// route name has no NUL byte (config allows [A-Za-z0-9_.-]).
func openKey(k incident.Key) []byte { return []byte(k.Route + "\x00" + k.Fingerprint) }

// OpenIncident implements store.IncidentTx.
func (t *Tx) OpenIncident(inc incident.Incident) (incident.Incident, error) {
	return openIncident(t.tx, inc)
}

// ResolveIncident implements store.IncidentTx.
func (t *Tx) ResolveIncident(key incident.Key, end time.Time) (incident.Incident, error) {
	return resolveIncident(t.tx, key, end)
}

func getIncident(b *bolt.Bucket, id uint64) (incident.Incident, bool, error) {
	var inc incident.Incident
	ok, err := getJSON(b, itob(id), &inc)
	if err != nil {
		return inc, false, fmt.Errorf("reading incident %d: %w", id, err)
	}
	return inc, ok, nil
}

func openIncident(tx *bolt.Tx, inc incident.Incident) (incident.Incident, error) {
	if err := inc.CheckOpen(); err != nil {
		return incident.Incident{}, err
	}
	all, open := tx.Bucket(bucketIncidents), tx.Bucket(bucketOpenIncidents)
	if v := open.Get(openKey(inc.Key)); v != nil {
		cur, ok, err := getIncident(all, binary.BigEndian.Uint64(v))
		if err != nil || !ok {
			return cur, errors.Join(err, fmt.Errorf("open incident %v: record missing", inc.Key))
		}
		if inc.Start.Before(cur.Start) {
			cur.Start = inc.Start
			if err := putJSON(all, itob(cur.ID), cur); err != nil {
				return incident.Incident{}, err
			}
		}
		return cur, nil
	}
	id, err := all.NextSequence()
	if err != nil {
		return incident.Incident{}, fmt.Errorf("allocating incident id: %w", err)
	}
	inc = inc.Clone()
	inc.ID, inc.End = id, time.Time{}
	if err := putJSON(all, itob(id), inc); err != nil {
		return incident.Incident{}, fmt.Errorf("storing incident %d: %w", id, err)
	}
	if err := tx.Bucket(bucketLastIncidents).Put(openKey(inc.Key), itob(id)); err != nil {
		return incident.Incident{}, err
	}
	return inc, open.Put(openKey(inc.Key), itob(id))
}

// linkMessages adds the messages a delivered job sent to the latest
// incident of each of its alerts (part of Complete's transaction).
func linkMessages(tx *bolt.Tx, job store.Job, sent []store.Sent) error {
	refs := store.IncidentMessages(job, sent)
	if len(refs) == 0 {
		return nil
	}
	all, last := tx.Bucket(bucketIncidents), tx.Bucket(bucketLastIncidents)
	for _, a := range job.Alerts {
		v := last.Get(openKey(incident.Key{Route: a.Route, Fingerprint: a.Fingerprint}))
		if v == nil {
			continue
		}
		inc, ok, err := getIncident(all, binary.BigEndian.Uint64(v))
		if err != nil {
			return err
		}
		if !ok { // pruned
			continue
		}
		for _, m := range refs {
			incident.Note{Message: &m}.Apply(&inc)
		}
		if err := putJSON(all, itob(inc.ID), inc); err != nil {
			return err
		}
	}
	return nil
}

func resolveIncident(tx *bolt.Tx, key incident.Key, end time.Time) (incident.Incident, error) {
	if end.IsZero() {
		return incident.Incident{}, errors.New("resolving an incident: zero end time")
	}
	all, open := tx.Bucket(bucketIncidents), tx.Bucket(bucketOpenIncidents)
	v := open.Get(openKey(key))
	if v == nil {
		return incident.Incident{}, incident.ErrNotOpen
	}
	inc, ok, err := getIncident(all, binary.BigEndian.Uint64(v))
	if err != nil {
		return inc, err
	}
	if err := open.Delete(openKey(key)); err != nil {
		return incident.Incident{}, err
	}
	if !ok { // cannot happen; an open key without its record is dropped
		return incident.Incident{}, incident.ErrNotOpen
	}
	inc.End = end
	if inc.End.Before(inc.Start) {
		inc.End = inc.Start
	}
	return inc, putJSON(all, itob(inc.ID), inc)
}

// Incidents returns the incident log kept in the store's file.
func (s *Store) Incidents() incident.Log { return incidentLog{s} }

// incidentLog is incident.Log over the store; each call is one transaction.
type incidentLog struct{ s *Store }

// Open implements incident.Log.
func (l incidentLog) Open(_ context.Context, inc incident.Incident) (out incident.Incident, err error) {
	err = l.s.db.Update(func(tx *bolt.Tx) error {
		out, err = openIncident(tx, inc)
		return err
	})
	return out, err
}

// Resolve implements incident.Log.
func (l incidentLog) Resolve(_ context.Context, key incident.Key, end time.Time) (out incident.Incident, err error) {
	err = l.s.db.Update(func(tx *bolt.Tx) error {
		out, err = resolveIncident(tx, key, end)
		return err
	})
	return out, err
}

// Annotate implements incident.Log.
func (l incidentLog) Annotate(_ context.Context, id uint64, n incident.Note) (out incident.Incident, err error) {
	err = l.s.db.Update(func(tx *bolt.Tx) error {
		all := tx.Bucket(bucketIncidents)
		inc, ok, err := getIncident(all, id)
		if err != nil {
			return err
		}
		if !ok {
			return incident.ErrNotFound
		}
		n.Apply(&inc)
		out = inc
		return putJSON(all, itob(id), inc)
	})
	return out, err
}

// List implements incident.Log.
func (l incidentLog) List(_ context.Context, f incident.Filter) ([]incident.Incident, error) {
	out := []incident.Incident{}
	err := l.s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketIncidents).ForEach(func(k, v []byte) error {
			var inc incident.Incident
			if err := json.Unmarshal(v, &inc); err != nil {
				return fmt.Errorf("decoding incident %d: %w", binary.BigEndian.Uint64(k), err)
			}
			if f.Match(inc) {
				out = append(out, inc)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	incident.Sort(out)
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// Prune implements incident.Log.
func (l incidentLog) Prune(_ context.Context, now time.Time, retention time.Duration) (int, error) {
	cutoff := incident.Cutoff(now, retention)
	n := 0
	err := l.s.db.Update(func(tx *bolt.Tx) error {
		all := tx.Bucket(bucketIncidents)
		var drop, lastKeys [][]byte
		err := all.ForEach(func(k, _ []byte) error {
			inc, _, err := getIncident(all, binary.BigEndian.Uint64(k))
			if err != nil {
				return err
			}
			if !inc.Open() && inc.End.Before(cutoff) {
				drop = append(drop, append([]byte(nil), k...))
				if last := tx.Bucket(bucketLastIncidents); bytes.Equal(last.Get(openKey(inc.Key)), k) {
					lastKeys = append(lastKeys, openKey(inc.Key))
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range drop {
			if err := all.Delete(k); err != nil {
				return err
			}
		}
		for _, k := range lastKeys {
			if err := tx.Bucket(bucketLastIncidents).Delete(k); err != nil {
				return err
			}
		}
		n = len(drop)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
