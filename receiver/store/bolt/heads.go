package bolt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"

	"github.com/downtime-detector/downtime/receiver/store"
)

// bucketQueueChat indexes the queue by chat: key chat 0x00 job-id (big
// endian), value indexValue. Every put to and delete from the queue bucket
// updates it in the same transaction (putQueued, deleteQueued); Open
// rebuilds it when it is missing or does not match the queue (a store
// written before the index existed).
var bucketQueueChat = []byte("queue_chat")

// indexValue is the value of every index entry: not empty, so that no
// reader can take an entry for a nested bucket (whose value is nil).
var indexValue = []byte{1}

var _ store.Heads = (*Store)(nil)

func chatKey(chat string, id uint64) []byte {
	return append(append([]byte(chat), 0), itob(id)...)
}

// putQueued stores a queued job and its index entry.
func putQueued(tx *bolt.Tx, j store.Job) error {
	if err := putJSON(tx.Bucket(bucketQueue), itob(j.ID), j); err != nil {
		return err
	}
	return tx.Bucket(bucketQueueChat).Put(chatKey(j.ChatID, j.ID), indexValue)
}

// deleteQueued removes job id and its index entry; false when it is not
// queued. The chat is read from the stored job, not trusted from the caller.
func deleteQueued(tx *bolt.Tx, id uint64) (bool, error) {
	q := tx.Bucket(bucketQueue)
	v := q.Get(itob(id))
	if v == nil {
		return false, nil
	}
	var j struct {
		ChatID string `json:"chatID"`
	}
	if err := json.Unmarshal(v, &j); err != nil {
		return false, fmt.Errorf("decoding queued job %d: %w", id, err)
	}
	if err := tx.Bucket(bucketQueueChat).Delete(chatKey(j.ChatID, id)); err != nil {
		return false, err
	}
	return true, q.Delete(itob(id))
}

// PendingHeads returns the oldest queued job of each chat (store.Heads):
// one seek per chat in the index, one decode per chat.
func (s *Store) PendingHeads(limit int) ([]store.Job, error) {
	var jobs []store.Job
	err := s.db.View(func(tx *bolt.Tx) error {
		var ids []uint64
		c := tx.Bucket(bucketQueueChat).Cursor()
		for k, _ := c.First(); k != nil; {
			i := bytes.IndexByte(k, 0)
			if i < 0 || len(k) != i+9 {
				return fmt.Errorf("queue index: bad key %x", k)
			}
			ids = append(ids, be(k[i+1:]))
			next := append(bytes.Clone(k[:i]), 1) // the first key after this chat
			k, _ = c.Seek(next)
		}
		sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
		if limit > 0 && len(ids) > limit {
			ids = ids[:limit]
		}
		q := tx.Bucket(bucketQueue)
		for _, id := range ids {
			var j store.Job
			ok, err := getJSON(q, itob(id), &j)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("queue index: job %d is not queued", id)
			}
			jobs = append(jobs, j)
		}
		return nil
	})
	return jobs, err
}

// indexQueue (re)builds the chat index when its size differs from the
// queue's.
func indexQueue(tx *bolt.Tx) error {
	q := tx.Bucket(bucketQueue)
	if ix := tx.Bucket(bucketQueueChat); ix != nil && ix.Stats().KeyN == q.Stats().KeyN {
		return nil
	}
	if tx.Bucket(bucketQueueChat) != nil {
		if err := tx.DeleteBucket(bucketQueueChat); err != nil {
			return err
		}
	}
	ix, err := tx.CreateBucket(bucketQueueChat)
	if err != nil {
		return err
	}
	return q.ForEach(func(k, v []byte) error {
		var j struct {
			ChatID string `json:"chatID"`
		}
		if err := json.Unmarshal(v, &j); err != nil {
			return fmt.Errorf("decoding queued job %x: %w", k, err)
		}
		return ix.Put(chatKey(j.ChatID, be(k)), indexValue)
	})
}

func be(b []byte) uint64 { return binary.BigEndian.Uint64(b) }
