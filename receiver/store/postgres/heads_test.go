package postgres_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/downtime-detector/downtime/receiver/store"
)

// TestPendingHeads: both stores give the oldest job of each chat, in
// queue order, through enqueue, complete and dead letter (retrying dead
// letters is checked for bbolt in receiver/store/storetest).
func TestPendingHeads(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s backend, _ func() backend) {
		h, ok := s.(store.Heads)
		if !ok {
			t.Fatalf("%T does not implement store.Heads", s)
		}
		mk := func(chat, text string) store.Job {
			j := job(store.KindFiring, text, "k"+text)
			j.ChatID = chat
			return j
		}
		q, err := s.Enqueue([]store.Job{mk("-1", "a"), mk("-2", "b"), mk("-1", "c"), mk("@chan", "d"), mk("-2", "e")}, t0)
		if err != nil || len(q) != 5 {
			t.Fatalf("Enqueue: got %d, %v", len(q), err)
		}
		check := func(step string, limit int, want string) {
			t.Helper()
			jobs, err := h.PendingHeads(limit)
			if err != nil {
				t.Fatalf("%s: PendingHeads: %v", step, err)
			}
			var got []string
			for _, j := range jobs {
				got = append(got, j.ChatID+":"+j.Text)
			}
			if fmt.Sprint(got) != want {
				t.Errorf("%s: got heads %v, want %s", step, got, want)
			}
		}
		check("queued", 0, "[-1:a -2:b @chan:d]")
		check("limit 2", 2, "[-1:a -2:b]")
		if err := s.Complete(q[0], nil, t0); err != nil {
			t.Fatal(err)
		}
		check("a sent", 0, "[-2:b -1:c @chan:d]")
		if err := s.DeadLetter(q[1], "forbidden", errors.New("403"), t0); err != nil {
			t.Fatal(err)
		}
		check("b dead", 0, "[-1:c @chan:d -2:e]")
		if err := s.Complete(q[4], nil, t0); err != nil {
			t.Fatal(err)
		}
		check("e sent", 0, "[-1:c @chan:d]")
	})
}
