package postgres

import (
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// TryLease takes or renews the lease name for holder until now+ttl and
// reports whether holder has it. It succeeds when nobody holds the lease,
// when holder already does (a renewal), or when the previous holder let it
// expire (it stopped renewing: crashed, killed, cut off). Receivers use it
// so that one at a time polls Telegram or drains the queue; holders renew
// well within ttl (e.g. every ttl/3) and stop working when a renewal fails.
//
// Expiry compares the holders' clocks (now), as every other time in the
// store does: receivers sharing a database need synchronised clocks (NTP),
// with ttl far above their skew.
func (s *Store) TryLease(name, holder string, ttl time.Duration, now time.Time) (bool, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var got string
	err := s.pool.QueryRow(ctx, `INSERT INTO leases (name, holder, expires) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires = EXCLUDED.expires
		WHERE leases.holder = EXCLUDED.holder OR leases.expires <= $4
		RETURNING holder`, name, holder, now.Add(ttl), now).Scan(&got)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("taking lease %q: %w", name, err)
	}
	return true, nil
}

// ReleaseLease gives the lease up if holder has it, so another instance
// takes over at once instead of after the ttl (a clean shutdown).
func (s *Store) ReleaseLease(name, holder string) error {
	ctx, cancel := s.ctx()
	defer cancel()
	if _, err := s.pool.Exec(ctx, "DELETE FROM leases WHERE name = $1 AND holder = $2", name, holder); err != nil {
		return fmt.Errorf("releasing lease %q: %w", name, err)
	}
	return nil
}

// LeaseHolder returns who holds the lease at now, if anyone.
func (s *Store) LeaseHolder(name string, now time.Time) (string, bool, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var holder string
	err := s.pool.QueryRow(ctx, "SELECT holder FROM leases WHERE name = $1 AND expires > $2", name, now).Scan(&holder)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading lease %q: %w", name, err)
	}
	return holder, true, nil
}
