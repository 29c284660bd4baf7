// Package deadletter lists, retries and purges the receiver's dead letters
// (jobs Telegram refused for good): on the store directly while the
// receiver is stopped (Local), or through a running receiver's admin API
// (Handler serves it, Client calls it). Both sides share one interface so
// the dead-letters command does not care which it talks to.
package deadletter

import (
	"context"
	"time"

	"github.com/downtime-detector/downtime/receiver/store"
)

// Manager is what the dead-letters command does. Empty ids mean all dead
// letters; an unknown id is an error and changes nothing.
type Manager interface {
	List(ctx context.Context) ([]store.DeadLetter, error)
	// Retry queues the jobs again, at the end of the queue, with their
	// idempotency keys: a webhook replayed later still queues nothing.
	Retry(ctx context.Context, ids []uint64) ([]store.Job, error)
	Purge(ctx context.Context, ids []uint64) (int, error)
}

// Local works on a store. Queued, if set, is called after a retry queued
// jobs (it wakes the delivery worker of a running receiver).
type Local struct {
	Store  store.Store
	Now    func() time.Time
	Queued func()
}

var _ Manager = Local{}

// List returns the dead letters, oldest first.
func (l Local) List(context.Context) ([]store.DeadLetter, error) { return l.Store.DeadLetters() }

// Retry moves dead letters back to the queue.
func (l Local) Retry(_ context.Context, ids []uint64) ([]store.Job, error) {
	jobs, err := l.Store.RetryDeadLetters(ids, l.Now())
	if err == nil && len(jobs) > 0 && l.Queued != nil {
		l.Queued()
	}
	return jobs, err
}

// Purge deletes dead letters.
func (l Local) Purge(_ context.Context, ids []uint64) (int, error) {
	return l.Store.PurgeDeadLetters(ids)
}
