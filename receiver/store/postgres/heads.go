package postgres

import (
	"fmt"

	"github.com/downtime-detector/downtime/receiver/store"
)

var _ store.Heads = (*Store)(nil)

// PendingHeads returns the oldest queued job of each chat, in queue order
// (store.Heads). The database picks them (DISTINCT ON the job's chat), so
// only one job per chat crosses the network and is decoded, instead of the
// first 1,000 of the queue. Without an index on the chat this is a scan of
// the queue table inside PostgreSQL, which is cheap next to decoding; a
// migration can add one (queue (job->>'chatID', id)) if queues grow deep.
func (s *Store) PendingHeads(limit int) ([]store.Job, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	rows, err := s.pool.Query(ctx, `SELECT id, job FROM (
			SELECT DISTINCT ON (job->>'chatID') id, job FROM queue ORDER BY job->>'chatID', id) heads
		ORDER BY id LIMIT $1`, lim)
	if err != nil {
		return nil, fmt.Errorf("reading queue heads: %w", err)
	}
	return scanJobs(rows)
}
