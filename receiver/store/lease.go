package store

import "time"

// Leaser hands out named leases to processes sharing one store, so that
// one of them at a time does a job (drains the queue, polls Telegram).
// receiver/store/postgres implements it; a store used by one process only
// (bbolt, whose file lock keeps a second receiver out) does not need to:
// receiver/ha treats such a store's lease as always held.
type Leaser interface {
	// TryLease takes or renews the lease name for holder until now+ttl and
	// reports whether holder has it.
	TryLease(name, holder string, ttl time.Duration, now time.Time) (bool, error)
	// ReleaseLease gives the lease up if holder has it.
	ReleaseLease(name, holder string) error
}
