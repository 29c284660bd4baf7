package bolt

import (
	"fmt"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/downtime-detector/downtime/receiver/store"
)

// A store written before the queue index (no queue_chat bucket) gets it
// built at open.
func TestOpenBuildsQueueIndex(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var jobs []store.Job
	for i, chat := range []string{"-1", "-2", "-1", "-3"} {
		j := storetestJob(store.KindFiring, fmt.Sprint("t", i), fmt.Sprint("k", i))
		j.ChatID = chat
		jobs = append(jobs, j)
	}
	if _, err := store.Enqueue(s, jobs, t0); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketQueueChat) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s = openDir(t, dir)
	heads, err := s.PendingHeads(0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, j := range heads {
		got = append(got, j.ChatID+":"+j.Text)
	}
	if want := "[-1:t0 -2:t1 -3:t3]"; fmt.Sprint(got) != want {
		t.Errorf("heads after reopening without the index: got %v, want %s", got, want)
	}
}
