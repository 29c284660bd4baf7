package delivery

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/internal/clock/clocktest"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/bolt"
	"github.com/downtime-detector/downtime/receiver/telegram"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

// A job queued by another process sharing the store (no Notify) is sent
// after one Poll interval.
func TestPollFindsJobsQueuedElsewhere(t *testing.T) {
	for _, poll := range []time.Duration{500 * time.Millisecond, 3 * time.Second} {
		t.Run(poll.String(), func(t *testing.T) {
			fc := clocktest.New(t0)
			st, err := bolt.OpenWith(t.TempDir(), bolt.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			tg := telegramtest.NewServer(t, token)
			client, err := telegram.New(token, tg.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			w := New(Options{Store: st, Sender: client, Clock: fc, Poll: poll})
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Go(func() { w.Run(ctx) })
			defer func() { cancel(); wg.Wait() }()
			fc.WaitTimers(1) // idle, polling
			if _, err := store.Enqueue(st, []store.Job{firing("-1", "a")}, t0); err != nil {
				t.Fatal(err)
			}
			if n := len(tg.Messages()); n != 0 {
				t.Fatalf("sent before the poll: got %d messages, want 0", n)
			}
			fc.Advance(poll)
			tg.WaitMessages(t, 1, 10*time.Second)
		})
	}
}
