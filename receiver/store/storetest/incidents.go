package storetest

import (
	"context"
	"errors"
	"reflect"
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

// testIncidentMessages: Complete links the messages a job sent to the
// incidents of its alerts, the resolved reply too (the incident closed);
// edits and chats known by @name add nothing.
func testIncidentMessages(t *testing.T, open Open) {
	s := open(t)
	is, ok := s.(store.IncidentStore)
	if !ok {
		t.Fatalf("%T does not keep the incident log (store.IncidentStore)", s)
	}
	inc := incidenttest.Fixture("ops", "fpM", "nas", t0)
	ref := store.AlertRef{Route: "ops", Fingerprint: "fpM", StartsAt: t0}
	complete := func(kind store.Kind, key, chat string, id int) {
		t.Helper()
		j := store.Job{Kind: kind, Route: "ops", ChatID: chat, ThreadID: 5, Text: key, Keys: []string{key}, Alerts: []store.AlertRef{ref}}
		q, err := store.Enqueue(s, []store.Job{j}, t0)
		if err != nil || len(q) != 1 {
			t.Fatalf("Enqueue: %v", err)
		}
		if err := s.Complete(q[0], []store.Sent{{ChatID: chat, MessageID: id, Text: key}}, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Update(func(tx store.Tx) error { _, err := tx.OpenIncident(inc); return err }); err != nil {
		t.Fatal(err)
	}
	complete(store.KindFiring, "m-firing", "-100", 11)
	complete(store.KindEdit, "m-edit", "-100", 11)
	if err := s.Update(func(tx store.Tx) error { _, err := tx.ResolveIncident(inc.Key, t0.Add(time.Hour)); return err }); err != nil {
		t.Fatal(err)
	}
	complete(store.KindResolved, "m-resolved", "-100", 12)
	complete(store.KindReminder, "m-channel", "@channel", 13)
	got, err := is.Incidents().List(context.Background(), incident.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	want := []incident.MessageRef{{ChatID: -100, ThreadID: 5, MessageID: 11}, {ChatID: -100, ThreadID: 5, MessageID: 12}}
	if len(got) != 1 || !reflect.DeepEqual(got[0].Messages, want) {
		t.Errorf("got %+v, want one incident with messages %+v", got, want)
	}
}
