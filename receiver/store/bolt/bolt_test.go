package bolt

import (
	"errors"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/storetest"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openDir(t, t.TempDir()) })
}

func openDir(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func storetestJob(kind store.Kind, text string, keys ...string) store.Job {
	return store.Job{Kind: kind, ChatID: "-100", Text: text, Keys: keys,
		Alerts: []store.AlertRef{{Fingerprint: "fp" + text, StartsAt: t0}}}
}

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	storetest.Reopen(t, func(t *testing.T) store.Store {
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	openDir(t, dir)
	s, err := Open(dir)
	if err == nil {
		s.Close()
		t.Fatalf("second Open of a locked store succeeded, want error")
	}
	if !errors.Is(err, store.ErrLocked) {
		t.Errorf("second Open: got %v, want store.ErrLocked", err)
	}
}
