package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/store"
)

// HeartbeatStore is the heartbeat part of a store, for CheckHeartbeats:
// Update runs fn in one read-write transaction.
type HeartbeatStore interface {
	store.Heartbeats
	UpdateHeartbeats(fn func(store.HeartbeatTx) error) error
}

// storeHeartbeats adapts a store.Store.
type storeHeartbeats struct{ store.Store }

func (s storeHeartbeats) UpdateHeartbeats(fn func(store.HeartbeatTx) error) error {
	return s.Update(func(tx store.Tx) error { return fn(tx) })
}

func testHeartbeats(t *testing.T, open Open) { CheckHeartbeats(t, storeHeartbeats{open(t)}) }

// CheckHeartbeats specifies the heartbeat state (store.HeartbeatTx,
// store.Heartbeats) on an empty store: unknown sources, round trip of
// every field, overwrite, order, and rollback.
func CheckHeartbeats(t *testing.T, s HeartbeatStore) {
	t.Helper()
	if hs, err := s.Heartbeats(); err != nil || len(hs) != 0 {
		t.Fatalf("Heartbeats on an empty store: got %v, %v, want none", hs, err)
	}
	warned := store.Heartbeat{Source: "ops/telegram", Route: "ops", Receiver: "telegram",
		ExternalURL: "http://alertmanager.example:9093", ChatID: "-100", ThreadID: 7, Silent: true,
		Last: t0.Add(-6 * time.Minute), Warned: true,
		Warning: store.AlertRef{Route: "ops", Fingerprint: "heartbeat", StartsAt: t0.Add(-6 * time.Minute)}}
	plain := store.Heartbeat{Source: "/telegram", Receiver: "telegram", ChatID: "-200", Last: t0}
	err := s.UpdateHeartbeats(func(tx store.HeartbeatTx) error {
		if _, ok, err := tx.Heartbeat("ops/telegram"); ok || err != nil {
			t.Errorf("unknown source: got ok=%v err=%v, want absent", ok, err)
		}
		if err := tx.PutHeartbeat(store.Heartbeat{Source: warned.Source, Last: t0.Add(-time.Hour)}); err != nil {
			return err
		}
		if err := tx.PutHeartbeat(warned); err != nil { // overwrites
			return err
		}
		return tx.PutHeartbeat(plain)
	})
	if err != nil {
		t.Fatalf("PutHeartbeat: %v", err)
	}
	hs, err := s.Heartbeats()
	if err != nil || len(hs) != 2 {
		t.Fatalf("Heartbeats: got %v, %v, want 2", hs, err)
	}
	checkHeartbeat(t, hs[0], plain)
	checkHeartbeat(t, hs[1], warned)
	boom := errors.New("boom")
	err = s.UpdateHeartbeats(func(tx store.HeartbeatTx) error {
		got, ok, err := tx.Heartbeat(warned.Source)
		if !ok || err != nil {
			t.Errorf("known source in a transaction: got ok=%v err=%v", ok, err)
		}
		checkHeartbeat(t, got, warned)
		got.Warned = false
		if err := tx.PutHeartbeat(got); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update: got %v, want %v", err, boom)
	}
	s.UpdateHeartbeats(func(tx store.HeartbeatTx) error {
		got, _, _ := tx.Heartbeat(warned.Source)
		if !got.Warned {
			t.Errorf("heartbeat after rollback: got warned=false, want the committed warned=true")
		}
		return nil
	})
}

func checkHeartbeat(t *testing.T, got, want store.Heartbeat) {
	t.Helper()
	same := got.Source == want.Source && got.Route == want.Route && got.Receiver == want.Receiver &&
		got.ExternalURL == want.ExternalURL && got.ChatID == want.ChatID && got.ThreadID == want.ThreadID &&
		got.Silent == want.Silent && got.Last.Equal(want.Last) && got.Warned == want.Warned &&
		got.Warning.Key() == want.Warning.Key()
	if !same {
		t.Errorf("heartbeat: got %+v, want %+v", got, want)
	}
}

// testPruneKeepsOpenWarning: Prune keeps the alert state (the message id)
// of an open heartbeat warning however old it is, so the "back" reply
// after a silence longer than the prune age still replies to the warning;
// once the warning is closed, the state is pruned like any other.
func testPruneKeepsOpenWarning(t *testing.T, open Open) {
	s := open(t)
	old := t0.Add(-30 * 24 * time.Hour)
	warning := store.AlertRef{Route: "ops", Fingerprint: "heartbeat/telegram", StartsAt: old}
	closed := store.AlertRef{Fingerprint: "heartbeat/other", StartsAt: old}
	stale := store.AlertRef{Fingerprint: "fp-host", StartsAt: old}
	err := s.Update(func(tx store.Tx) error {
		for _, ref := range []store.AlertRef{warning, closed, stale} {
			st := store.AlertState{Firing: true, ChatID: "-100", MessageID: 42, Updated: old}
			if err := tx.PutAlertState(ref, st); err != nil {
				return err
			}
		}
		// "/telegram" came back after its warning: Arrive cleared it.
		if err := tx.PutHeartbeat(store.Heartbeat{Source: "/other", Receiver: "other", Last: t0}); err != nil {
			return err
		}
		return tx.PutHeartbeat(store.Heartbeat{Source: "ops/telegram", Route: "ops", Receiver: "telegram",
			Last: old, Warned: true, Warning: warning})
	})
	if err != nil {
		t.Fatal(err)
	}
	cutoff := t0.Add(-7 * 24 * time.Hour)
	if n, err := s.Prune(cutoff); err != nil || n != 2 {
		t.Errorf("Prune with a warning open: got %d, %v, want 2 (the closed warning's and the host's states)", n, err)
	}
	if st, ok, err := s.FiringMessage(warning); err != nil || !ok || st.MessageID != 42 {
		t.Errorf("open warning's state after Prune: got %+v %v %v, want message 42 kept", st, ok, err)
	}
	for _, ref := range []store.AlertRef{closed, stale} {
		if _, ok, err := s.FiringMessage(ref); err != nil || ok {
			t.Errorf("state %s after Prune: got kept (%v), want pruned", ref.Key(), err)
		}
	}
	// Heartbeats come back: the warning is closed and its state goes.
	err = s.Update(func(tx store.Tx) error {
		return tx.PutHeartbeat(store.Heartbeat{Source: "ops/telegram", Route: "ops", Receiver: "telegram", Last: t0})
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.Prune(cutoff); err != nil || n != 1 {
		t.Errorf("Prune after the warning closed: got %d, %v, want 1", n, err)
	}
	if _, ok, _ := s.FiringMessage(warning); ok {
		t.Errorf("closed warning's state survived Prune")
	}
}
