package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/chat"
	"github.com/downtime-detector/downtime/receiver/store"
)

// OpenChat returns an empty chat store for one test.
type OpenChat func(t *testing.T) store.Chat

// testChat runs RunChat on a store.Store, which must implement store.Chat.
func testChat(t *testing.T, open Open) {
	RunChat(t, func(t *testing.T) store.Chat {
		s := open(t)
		c, ok := s.(store.Chat)
		if !ok {
			t.Fatalf("%T does not implement store.Chat", s)
		}
		return c
	})
}

// RunChat is the behaviour of store.Chat (callback keys and the updates
// offset), for every implementation.
func RunChat(t *testing.T, open OpenChat) {
	t.Run("ActionsRoundTrip", func(t *testing.T) {
		s := open(t)
		if _, err := s.Action("nokey"); !errors.Is(err, chat.ErrUnknownKey) {
			t.Fatalf("Action(unknown): got %v, want ErrUnknownKey", err)
		}
		if err := s.UpdateAction("nokey", func(*chat.ActionRecord) error { return nil }); !errors.Is(err, chat.ErrUnknownKey) {
			t.Fatalf("UpdateAction(unknown): got %v, want ErrUnknownKey", err)
		}
		rec := chat.ActionRecord{Route: "ops", ChatID: -100123, ThreadID: 7, MessageID: 45, Fingerprint: "fp1",
			StartsAt: t0, Labels: map[string]string{"alertname": "HostDown", "target": "db1"}, CreatedAt: t0}
		if err := s.PutAction("k1", rec); err != nil {
			t.Fatalf("PutAction: %v", err)
		}
		if err := s.PutAction("k1", rec); err == nil {
			t.Fatalf("PutAction twice: got nil error, want one (a key is written once)")
		}
		got, err := s.Action("k1")
		if err != nil || got.Route != "ops" || got.ChatID != -100123 || got.MessageID != 45 ||
			got.Labels["target"] != "db1" || !got.StartsAt.Equal(t0) {
			t.Fatalf("Action: got %+v, %v, want the record put", got, err)
		}
		err = s.UpdateAction("k1", func(r *chat.ActionRecord) error { r.AckedBy = "@bob"; return nil })
		if err != nil {
			t.Fatalf("UpdateAction: %v", err)
		}
		boom := errors.New("boom")
		if err := s.UpdateAction("k1", func(r *chat.ActionRecord) error { r.AckedBy = "@eve"; return boom }); !errors.Is(err, boom) {
			t.Fatalf("UpdateAction failing: got %v, want boom", err)
		}
		if got, _ := s.Action("k1"); got.AckedBy != "@bob" {
			t.Errorf("after a failed update: AckedBy %q, want @bob (rolled back)", got.AckedBy)
		}
	})
	t.Run("ConcurrentUpdates", func(t *testing.T) {
		s := open(t)
		if err := s.PutAction("k", chat.ActionRecord{Route: "r"}); err != nil {
			t.Fatal(err)
		}
		const n = 8
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if err := s.UpdateAction("k", func(r *chat.ActionRecord) error { r.MessageID++; return nil }); err != nil {
					t.Errorf("UpdateAction: %v", err)
				}
			})
		}
		wg.Wait()
		if got, _ := s.Action("k"); got.MessageID != n {
			t.Errorf("after %d concurrent increments: got %d, want %d (updates are atomic)", n, got.MessageID, n)
		}
	})
	t.Run("FiringAlerts", func(t *testing.T) {
		s := open(t)
		up, ok := s.(interface {
			Update(func(store.Tx) error) error
		})
		if !ok {
			t.Skipf("%T has no store.Store Update; FiringAlerts is checked with the store suite", s)
		}
		refs := []store.AlertRef{{Route: "ops", Fingerprint: "a1", StartsAt: t0}, {Route: "", Fingerprint: "b2", StartsAt: t0.Add(time.Minute)},
			{Route: "ops", Fingerprint: "c3", StartsAt: t0}, {Route: "ops", Fingerprint: "d4", StartsAt: t0}}
		states := []store.AlertState{{Firing: true, MessageID: 5}, {Firing: true}, {Firing: true, Resolved: true}, {Resolved: true}}
		err := up.Update(func(tx store.Tx) error {
			for i := range refs {
				if err := tx.PutAlertState(refs[i], states[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		held, err := s.FiringAlerts()
		if err != nil {
			t.Fatalf("FiringAlerts: %v", err)
		}
		got := map[string]bool{}
		for _, h := range held {
			got[h.Ref.Key()] = true
		}
		if len(held) != 2 || !got[refs[0].Key()] || !got[refs[1].Key()] {
			t.Errorf("FiringAlerts: got %v, want %s and %s", got, refs[0].Key(), refs[1].Key())
		}
	})
	t.Run("ReconcileState", func(t *testing.T) {
		s := open(t)
		if v, err := s.ReconcileState(); err != nil || v != nil {
			t.Fatalf("initial reconcile state: got %q, %v, want nil", v, err)
		}
		for _, want := range []string{`{"fp1":{"Suppressed":true}}`, `{}`} {
			if err := s.SetReconcileState([]byte(want)); err != nil {
				t.Fatalf("SetReconcileState: %v", err)
			}
			if v, err := s.ReconcileState(); err != nil || string(v) != want {
				t.Errorf("reconcile state: got %q, %v, want %q", v, err, want)
			}
		}
	})
	t.Run("UpdatesOffset", func(t *testing.T) {
		s := open(t)
		if o, err := s.UpdatesOffset(); err != nil || o != 0 {
			t.Fatalf("initial offset: got %d, %v, want 0", o, err)
		}
		for _, o := range []int{5, 5, 9} {
			if err := s.SetUpdatesOffset(o); err != nil {
				t.Fatalf("SetUpdatesOffset(%d): %v", o, err)
			}
		}
		if err := s.SetUpdatesOffset(3); err == nil {
			t.Errorf("SetUpdatesOffset(3) after 9: got nil error, want one (never back)")
		}
		if o, err := s.UpdatesOffset(); err != nil || o != 9 {
			t.Errorf("offset: got %d, %v, want 9", o, err)
		}
	})
}
