package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/incident"
	"github.com/downtime-detector/downtime/receiver/incident/incidenttest"
	"github.com/downtime-detector/downtime/receiver/store"
)

// testIncidentsInUpdate: the incident log is written by the transaction
// that queues the messages, so it commits and rolls back with the jobs.
func testIncidentsInUpdate(t *testing.T, open Open) {
	s := open(t)
	is, ok := s.(store.IncidentStore)
	if !ok {
		t.Fatalf("%T does not keep the incident log (store.IncidentStore)", s)
	}
	log := is.Incidents()
	list := func() []incident.Incident {
		t.Helper()
		got, err := log.List(context.Background(), incident.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	inc := incidenttest.Fixture("ops", "fp1", "nas", t0)
	errRollback := errors.New("rollback")
	err := s.Update(func(tx store.Tx) error {
		if _, err := tx.Enqueue([]store.Job{job(store.KindFiring, "a", "k1")}, t0); err != nil {
			return err
		}
		if _, err := tx.OpenIncident(inc); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("Update: got %v, want the rollback error", err)
	}
	if got := list(); len(got) != 0 {
		t.Fatalf("after a rolled back Update: got %d incidents, want 0", len(got))
	}
	if got := pendingTexts(t, s); len(got) != 0 {
		t.Fatalf("after a rolled back Update: got jobs %q, want none", got)
	}
	var opened incident.Incident
	err = s.Update(func(tx store.Tx) error {
		if _, err := tx.Enqueue([]store.Job{job(store.KindFiring, "a", "k1")}, t0); err != nil {
			return err
		}
		var err error
		opened, err = tx.OpenIncident(inc)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := list(); len(got) != 1 || got[0].ID != opened.ID || !got[0].Open() {
		t.Fatalf("after Update: got %+v, want the open incident %d", got, opened.ID)
	}
	err = s.Update(func(tx store.Tx) error {
		_, err := tx.ResolveIncident(inc.Key, t0.Add(time.Hour))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := list(); len(got) != 1 || got[0].Open() || got[0].Duration(t0) != time.Hour {
		t.Fatalf("after resolving: got %+v, want one incident of 1h", got)
	}
	err = s.Update(func(tx store.Tx) error {
		_, err := tx.ResolveIncident(inc.Key, t0.Add(2*time.Hour))
		return err
	})
	if !errors.Is(err, incident.ErrNotOpen) {
		t.Errorf("resolving again: got %v, want ErrNotOpen", err)
	}
}
