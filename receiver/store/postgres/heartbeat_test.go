package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/downtime-detector/downtime/internal/pgtest"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/postgres"
	"github.com/downtime-detector/downtime/receiver/store/storetest"
)

// pgHeartbeats adapts the PostgreSQL store to storetest.CheckHeartbeats
// until it is behind store.Store (then storetest.Run covers it too). The
// type switch compiles with either form of Update.
type pgHeartbeats struct{ *postgres.Store }

func (s pgHeartbeats) UpdateHeartbeats(fn func(store.HeartbeatTx) error) error {
	switch u := any(s.Store).(type) {
	case interface {
		Update(func(store.Tx) error) error
	}:
		return u.Update(func(tx store.Tx) error { return fn(tx) })
	case interface {
		Update(func(*postgres.Tx) error) error
	}:
		return u.Update(func(tx *postgres.Tx) error { return fn(tx) })
	}
	return errors.New("postgres.Store has no known Update")
}

func TestHeartbeats(t *testing.T) {
	s, err := postgres.Open(context.Background(), pgtest.DB(t), postgres.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	storetest.CheckHeartbeats(t, pgHeartbeats{s})
}
