package webhook

import (
	"net/http"
	"testing"

	"github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/store"
)

// TestObserve: every alert of an accepted notification is observed after
// the commit, with the reference of its state on its route; a rejected
// notification is not.
func TestObserve(t *testing.T) {
	e := newEnv(t, config.WebhookAuth{})
	type seen struct {
		ref   store.AlertRef
		alert template.Alert
	}
	var got []seen
	e.h.opts.Observe = func(ref store.AlertRef, a template.Alert) {
		if st, known := e.stateOf(t, ref); !known || !st.Firing {
			t.Errorf("observed %s before its state was committed", ref.Key())
		}
		got = append(got, seen{ref, a})
	}
	a, b := alert("firing", "a"), alert("firing", "b")
	if code, body := e.post(t, "/webhook/ops", payload("firing", a, b)); code != http.StatusOK {
		t.Fatalf("got %d %s, want 200", code, body)
	}
	if len(got) != 2 {
		t.Fatalf("got %d alerts observed, want 2", len(got))
	}
	for i, fp := range []string{"a", "b"} {
		want := store.AlertRef{Route: "ops", Fingerprint: fp, StartsAt: got[i].alert.StartsAt}
		if got[i].ref.Key() != want.Key() || got[i].alert.Fingerprint != fp {
			t.Errorf("observed %d: got %s (%s), want %s", i, got[i].ref.Key(), got[i].alert.Fingerprint, want.Key())
		}
	}
	if code, _ := e.post(t, "/webhook/nope", payload("firing", a)); code == http.StatusOK {
		t.Fatal("unknown route accepted")
	}
	if len(got) != 2 {
		t.Errorf("got %d alerts observed after a rejected notification, want still 2", len(got))
	}
}

func (e *env) stateOf(t *testing.T, ref store.AlertRef) (store.AlertState, bool) {
	t.Helper()
	var st store.AlertState
	var ok bool
	err := e.st.Update(func(tx store.Tx) error {
		var err error
		st, ok, err = tx.AlertState(ref)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return st, ok
}
