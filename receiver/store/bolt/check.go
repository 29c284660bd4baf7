package bolt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/downtime-detector/downtime/receiver/store"
)

// ErrDamaged is returned by Open for a store file that fails the check at
// open: zero length, truncated, or with damaged pages or records.
var ErrDamaged = errors.New("store file is damaged")

// checkFile checks an existing store file before it is opened for
// writing, so that a damaged file stops the start before anything is sent.
// bbolt reads its file through mmap: a page beyond the end of a truncated
// file is a SIGBUS ("fatal error: fault") that no recover catches, and a
// flipped byte in a page header panics somewhere in a later transaction
// (the prune, after the first queued message went out: every restart sent
// it again). So the whole file is read once here, in a goroutine where a
// fault is a panic (debug.SetPanicOnFault): the size against the pages the
// meta page claims, every bucket and record (whose values must decode),
// and bbolt's own consistency check (tx.Check).
//
// A zero-length file is refused too: bbolt would quietly make it a new,
// empty store, and the queue and dead letters it should hold would be gone
// without a word. A missing file is fine: that is a first start.
func checkFile(path string, timeout time.Duration) error {
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if info.Size() == 0 {
		return damaged(path, errors.New("the file is empty (zero length): it is not a new store, "+
			"something truncated it"))
	}
	errc := make(chan error, 1)
	go func() { errc <- readAll(path, info.Size(), timeout) }()
	err = <-errc
	if errors.Is(err, store.ErrLocked) || err == nil {
		return err
	}
	return damaged(path, err)
}

func damaged(path string, why error) error {
	return fmt.Errorf("%w: %q: %v. Stop the receiver, move the file aside (mv %s %s.damaged) and start "+
		"again with a new, empty store: the queued messages and dead letters in it may be lost "+
		"(Alertmanager sends firing alerts again at its repeat_interval); keep the damaged copy to "+
		"recover what you can", ErrDamaged, path, why, path, path)
}

// readAll opens path read-only and reads all of it; faults and bbolt
// panics become errors. It runs in its own goroutine: SetPanicOnFault is
// per goroutine.
func readAll(path string, size int64, timeout time.Duration) (err error) {
	debug.SetPanicOnFault(true)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading it failed: %v", r)
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: timeout, PreLoadFreelist: true})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return store.ErrLocked
	}
	if err != nil {
		return err
	}
	defer db.Close()
	if ps := int64(db.Info().PageSize); size%ps != 0 { // bbolt only ever grows it by whole pages
		return fmt.Errorf("truncated: the file is %d bytes, not a whole number of %d-byte pages", size, ps)
	}
	return db.View(func(tx *bolt.Tx) error {
		if tx.Size() > size {
			return fmt.Errorf("truncated: the file is %d bytes, its pages need %d", size, tx.Size())
		}
		if err := readBuckets(tx); err != nil {
			return err
		}
		// Every page tx.Check reads was read above, in this goroutine:
		// its own goroutine cannot fault on them.
		var errs []string
		for err := range tx.Check() {
			if len(errs) < 3 {
				errs = append(errs, err.Error())
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("consistency check: %s", strings.Join(errs, "; "))
		}
		return nil
	})
}

// readBuckets reads every record of every bucket and checks that the
// values are what the store writes.
func readBuckets(tx *bolt.Tx) error {
	return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		valid := validValue(name)
		return b.ForEach(func(k, v []byte) error {
			if v == nil { // nested bucket: the store has none
				return fmt.Errorf("bucket %q: unexpected nested bucket %q", name, k)
			}
			if !valid(v) {
				return fmt.Errorf("bucket %q: record %x is not readable", name, k)
			}
			return nil
		})
	})
}

func validValue(bucket []byte) func([]byte) bool {
	switch {
	case bytes.Equal(bucket, bucketQueue), bytes.Equal(bucket, bucketAlerts), bytes.Equal(bucket, bucketDead):
		return json.Valid
	case bytes.Equal(bucket, bucketSeen):
		return func(v []byte) bool { return len(v) == 8 }
	}
	return func([]byte) bool { return true }
}
