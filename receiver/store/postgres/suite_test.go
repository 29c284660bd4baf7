package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/internal/pgtest"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/postgres"
	"github.com/downtime-detector/downtime/receiver/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// TestStore runs the behaviour suite every store passes (the bbolt one
// runs it in receiver/store/bolt), each check on a fresh database.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openPG(t, pgtest.DB(t)) })
}

// Closing and opening the database again keeps everything.
func TestReopenKeepsEverything(t *testing.T) {
	dsn := pgtest.DB(t)
	storetest.Reopen(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(context.Background(), dsn, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
