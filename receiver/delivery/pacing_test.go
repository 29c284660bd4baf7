package delivery

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/downtime-detector/downtime/internal/clock"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/bolt"
	"github.com/downtime-detector/downtime/receiver/telegram"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

// runWorker runs a worker on st until the returned stop is called.
func runWorker(t *testing.T, st store.Store, tg *telegramtest.Server, limits Limits) (*Worker, func()) {
	t.Helper()
	client, err := telegram.New(token, tg.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := New(Options{Store: st, Sender: client, Limits: limits, Registerer: prometheus.NewRegistry(),
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Clock: clock.Real()})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { w.Run(ctx) })
	stop := sync.OnceFunc(func() { cancel(); wg.Wait() })
	t.Cleanup(stop)
	return w, stop
}

// TestEditsArePaced: resolving 240 alerts shown in 11 firing messages
// edits the 11 messages within the flood limits: 11 edits, no 429 from the
// fake (it used to be 8 answered 429 and 71 calls for 11 edits).
func TestEditsArePaced(t *testing.T) {
	if testing.Short() {
		t.Skip("takes ~10s: 11 edits at one per second")
	}
	st, err := bolt.OpenWith(t.TempDir(), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tg := telegramtest.NewServer(t, token)
	const chat = "4242"
	// The firing messages go out unpaced, with the fake's limits off.
	tg.SetLimits(telegramtest.Limits{})
	w, stop := runWorker(t, st, tg, Limits{})
	var all []store.AlertRef
	var jobs []store.Job
	for m := range 11 {
		var refs []store.AlertRef
		for i := range 22 {
			if n := m*22 + i; n < 240 {
				refs = append(refs, ref(fmt.Sprint("host-", n)))
			}
		}
		all = append(all, refs...)
		jobs = append(jobs, store.Job{Kind: store.KindFiring, ChatID: chat, Text: fmt.Sprint("down ", m), Alerts: refs})
	}
	if _, err := store.Enqueue(st, jobs, time.Now()); err != nil {
		t.Fatal(err)
	}
	w.Notify()
	tg.WaitMessages(t, 11, 10*time.Second)
	waitDepth(t, st, 0)
	stop()

	tg.SetLimits(telegramtest.DefaultLimits())
	w, _ = runWorker(t, st, tg, DefaultLimits())
	if _, err := store.Enqueue(st, []store.Job{{Kind: store.KindEdit, ChatID: chat, Text: "<s>down</s>", Alerts: all}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	w.Notify()
	tg.WaitEdits(t, 11, 30*time.Second)
	waitDepth(t, st, 0)
	if n := tg.Calls("editMessageText"); n != 11 {
		t.Errorf("editMessageText calls: got %d, want 11", n)
	}
	if n := tg.TooManyRequests(); n != 0 {
		t.Errorf("429 answers: got %d, want 0", n)
	}
}

func waitDepth(t *testing.T, st store.Store, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := st.Stats()
		if err == nil && s.Depth == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue depth: got %d (%v) after 30s, want %d", s.Depth, err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
