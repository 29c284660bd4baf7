package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/downtime-detector/downtime/receiver/ha"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/bolt"
	"github.com/downtime-detector/downtime/receiver/store/postgres"
)

// envStorageURL carries --storage.url without putting the password on the
// command line (where ps shows it).
const envStorageURL = "DOWNTIME_RECEIVER_STORAGE_URL"

// sharedPoll is how often a sender on a shared store looks at the queue
// without being notified: the other receivers queue jobs into it too.
const sharedPoll = 500 * time.Millisecond

// storageFlags are --storage.url and the lease timing (--storage.path is
// options.storagePath).
type storageFlags struct {
	pathSet    bool
	url        string
	leaseTTL   time.Duration
	leaseRenew time.Duration
}

func addStorageFlags(app *kingpin.Application, opts *options) {
	s := &opts.storage
	app.Flag("storage.path", "Directory of the embedded queue database (receiver.db; one process at a time). The default store.").
		Default("data/").IsSetByUser(&s.pathSet).StringVar(&opts.storagePath)
	app.Flag("storage.url", "PostgreSQL URL (postgres://user:password@host:5432/db?sslmode=...) to keep the state in PostgreSQL instead, shared by two or more receivers (see HA in deploy/README.md). Also read from $"+envStorageURL+", which keeps the password out of the process list.").
		Envar(envStorageURL).StringVar(&s.url)
	app.Flag("storage.lease-ttl", "With --storage.url: how long the sender's lease lasts without renewal; another receiver takes over this long after the holder died.").
		Default(ha.DefaultTTL.String()).DurationVar(&s.leaseTTL)
	app.Flag("storage.lease-renew", "With --storage.url: how often the lease holder renews it and the others try to take it (at most half the TTL).").
		Default(ha.DefaultRenew.String()).DurationVar(&s.leaseRenew)
}

// check rejects contradictory storage flags.
func (s *storageFlags) check() error {
	if s.url == "" {
		return nil
	}
	if s.pathSet {
		return errors.New("--storage.path and --storage.url exclude each other: give one")
	}
	if !strings.HasPrefix(s.url, "postgres://") && !strings.HasPrefix(s.url, "postgresql://") {
		return fmt.Errorf("--storage.url %q: want postgres://user:password@host:port/database", postgres.Redact(s.url))
	}
	if s.leaseTTL <= 0 || s.leaseRenew <= 0 || s.leaseRenew > s.leaseTTL/2 {
		return fmt.Errorf("--storage.lease-renew (%v) must be positive and at most half of --storage.lease-ttl (%v)", s.leaseRenew, s.leaseTTL)
	}
	return nil
}

// openStore opens PostgreSQL with --storage.url, else bbolt in
// --storage.path. A PostgreSQL error never contains the password.
func openStore(ctx context.Context, opts *options) (store.Store, error) {
	if opts.storage.url == "" {
		return bolt.Open(opts.storagePath)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return postgres.Open(ctx, opts.storage.url, postgres.Options{})
}

// leaser returns the store's leases when other processes share it (nil:
// this process is alone and always the leader).
func leaser(st store.Store) store.Leaser {
	l, _ := st.(store.Leaser)
	return l
}

// pollFor is the sender's poll interval: 0 (woken by this process's own
// webhooks only) for a store nobody else writes to.
func pollFor(shared store.Leaser) time.Duration {
	if shared == nil {
		return 0
	}
	return sharedPoll
}
