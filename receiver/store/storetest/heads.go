package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/downtime-detector/downtime/receiver/store"
)

// testHeads checks store.Heads, for stores that implement it: the oldest
// job of each chat, in queue order, through enqueue, complete, dead letter
// and retry.
func testHeads(t *testing.T, open Open) {
	s := open(t)
	h, ok := s.(store.Heads)
	if !ok {
		t.Logf("%T does not implement store.Heads: the worker scans Pending instead", s)
		return
	}
	mk := func(chat, text string) store.Job {
		j := job(store.KindFiring, text, "k"+text)
		j.ChatID = chat
		return j
	}
	q, err := store.Enqueue(s, []store.Job{mk("-1", "a"), mk("-2", "b"), mk("-1", "c"), mk("@chan", "d"), mk("-2", "e")}, t0)
	if err != nil || len(q) != 5 {
		t.Fatalf("Enqueue: got %d, %v", len(q), err)
	}
	check := func(step string, limit int, want ...string) {
		t.Helper()
		jobs, err := h.PendingHeads(limit)
		if err != nil {
			t.Fatalf("%s: PendingHeads: %v", step, err)
		}
		var got []string
		for _, j := range jobs {
			got = append(got, j.ChatID+":"+j.Text)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got heads %v, want %v", step, got, want)
		}
	}
	check("queued", 0, "-1:a", "-2:b", "@chan:d")
	check("limit 2", 2, "-1:a", "-2:b")
	if err := s.Complete(q[0], nil, t0); err != nil {
		t.Fatal(err)
	}
	check("a sent", 0, "-2:b", "-1:c", "@chan:d")
	if err := s.DeadLetter(q[1], "forbidden", errors.New("403"), t0); err != nil {
		t.Fatal(err)
	}
	check("b dead", 0, "-1:c", "@chan:d", "-2:e")
	if err := s.Complete(q[4], nil, t0); err != nil {
		t.Fatal(err)
	}
	check("e sent", 0, "-1:c", "@chan:d")
	if _, err := s.RetryDeadLetters([]uint64{q[1].ID}, t0); err != nil {
		t.Fatal(err)
	}
	check("b retried", 0, "-1:c", "@chan:d", "-2:b")
	if err := s.Complete(q[2], nil, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(q[3], nil, t0); err != nil {
		t.Fatal(err)
	}
	check("c, d sent", 0, "-2:b")
}
