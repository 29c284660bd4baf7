package postgres_test

import (
	"errors"
	"reflect"
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

// TestIncidentMessages: Complete links the messages sent to the latest
// incident of the job's alerts (what storetest checks for bbolt).
func TestIncidentMessages(t *testing.T) {
	s := openPG(t, pgtest.DB(t))
	inc := incidenttest.Fixture("ops", "fpM", "nas", t0)
	if _, err := s.Incidents().Open(t.Context(), inc); err != nil {
		t.Fatal(err)
	}
	ref := store.AlertRef{Route: "ops", Fingerprint: "fpM", StartsAt: t0}
	for i, kind := range []store.Kind{store.KindFiring, store.KindEdit, store.KindResolved} {
		if kind == store.KindResolved {
			if _, err := s.Incidents().Resolve(t.Context(), inc.Key, t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		key := string(kind)
		q, err := s.Enqueue([]store.Job{{Kind: kind, Route: "ops", ChatID: "-100", ThreadID: 5, Text: key,
			Keys: []string{key}, Alerts: []store.AlertRef{ref}}}, t0)
		if err != nil || len(q) != 1 {
			t.Fatalf("Enqueue: %v", err)
		}
		if err := s.Complete(q[0], []store.Sent{{ChatID: "-100", MessageID: 11 + i/2, Text: key}}, t0); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Incidents().List(t.Context(), incident.Filter{})
	want := []incident.MessageRef{{ChatID: -100, ThreadID: 5, MessageID: 11}, {ChatID: -100, ThreadID: 5, MessageID: 12}}
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0].Messages, want) {
		t.Errorf("got %+v (%v), want one incident with messages %+v", got, err, want)
	}
}
