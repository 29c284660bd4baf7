package delivery

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/internal/clock"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/bolt"
	"github.com/downtime-detector/downtime/receiver/telegram"
)

// nopSender accepts every message at once.
type nopSender struct{ n int }

func (s *nopSender) Send(context.Context, telegram.Message) (int, error) { s.n++; return s.n, nil }
func (s *nopSender) Edit(context.Context, string, int, string) error     { return nil }

// scanOnly hides any optional interface of the store (such as
// store.Heads): the worker scans the queue as before the index.
type scanOnly struct{ store.Store }

// BenchmarkSendDeepQueue is the cost of one send (pick the next job,
// send it to a sender that answers at once, record it) with 2,500 jobs
// queued for three chats, the depth kept by queueing one job per send.
// "scan" is the worker without the queue index (store.Heads hidden).
func BenchmarkSendDeepQueue(b *testing.B) {
	for _, mode := range []string{"scan", "index"} {
		b.Run(mode, func(b *testing.B) {
			bs, err := bolt.OpenWith(b.TempDir(), bolt.Options{NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			defer bs.Close()
			var st store.Store = bs
			if mode == "scan" {
				st = scanOnly{bs}
			}
			chats := []string{"-1001", "-1002", "-1003"}
			text := strings.Repeat("🔴 <b>node0001.dc1.example.com</b> is down\n", 40)
			mk := func(i int) store.Job {
				return store.Job{Kind: store.KindFiring, ChatID: chats[i%len(chats)], Text: text,
					Alerts: []store.AlertRef{{Fingerprint: fmt.Sprint("fp", i), StartsAt: t0}}}
			}
			var jobs []store.Job
			for i := range 2500 {
				jobs = append(jobs, mk(i))
			}
			if _, err := store.Enqueue(st, jobs, t0); err != nil {
				b.Fatal(err)
			}
			w := New(Options{Store: st, Sender: &nopSender{}, Clock: clock.Real()})
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				job, _, err := w.next(time.Now())
				if err != nil || job == nil {
					b.Fatalf("next: got %v, %v, want a job", job, err)
				}
				w.process(ctx, *job)
				if _, err := store.Enqueue(st, []store.Job{mk(2500 + i)}, t0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
