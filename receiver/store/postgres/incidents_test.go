package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/internal/pgtest"
	"github.com/downtime-detector/downtime/receiver/incident"
	"github.com/downtime-detector/downtime/receiver/incident/incidenttest"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/postgres"
)

func TestIncidentLog(t *testing.T) {
	incidenttest.Run(t, func(t *testing.T) incident.Log { return openPG(t, pgtest.DB(t)).Incidents() })
}

// TestIncidentsInUpdate: incidents opened in an Update commit and roll
// back with the jobs queued there (what storetest checks for bbolt).
func TestIncidentsInUpdate(t *testing.T) {
	s := openPG(t, pgtest.DB(t))
	inc := incidenttest.Fixture("ops", "fp1", "nas", t0)
	errRollback := errors.New("rollback")
	err := s.Update(func(tx *postgres.Tx) error {
		if _, err := tx.Enqueue([]store.Job{{Kind: store.KindFiring, ChatID: "-100", Text: "a", Keys: []string{"k1"}}}, t0); err != nil {
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
	if got, err := s.Incidents().List(t.Context(), incident.Filter{}); err != nil || len(got) != 0 {
		t.Fatalf("after a rolled back Update: got %d incidents (%v), want 0", len(got), err)
	}
	var opened incident.Incident
	if err := s.Update(func(tx *postgres.Tx) error {
		var err error
		opened, err = tx.OpenIncident(inc)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(tx *postgres.Tx) error {
		_, err := tx.ResolveIncident(inc.Key, t0.Add(time.Hour))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Incidents().List(t.Context(), incident.Filter{})
	if err != nil || len(got) != 1 || got[0].ID != opened.ID || got[0].Duration(t0) != time.Hour {
		t.Fatalf("after Update and resolve: got %+v (%v), want incident %d of 1h", got, err, opened.ID)
	}
}
