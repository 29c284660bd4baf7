package postgres_test

import (
	"context"
	"testing"

	"github.com/downtime-detector/downtime/internal/pgtest"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/postgres"
	"github.com/downtime-detector/downtime/receiver/store/storetest"
)

// pgHeartbeats adapts the PostgreSQL store to storetest.CheckHeartbeats
// until it is behind store.Store (then storetest.Run covers it).
type pgHeartbeats struct{ *postgres.Store }

func (s pgHeartbeats) UpdateHeartbeats(fn func(store.HeartbeatTx) error) error {
	return s.Update(func(tx *postgres.Tx) error { return fn(tx) })
}

func TestHeartbeats(t *testing.T) {
	s, err := postgres.Open(context.Background(), pgtest.DB(t), postgres.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	storetest.CheckHeartbeats(t, pgHeartbeats{s})
}
