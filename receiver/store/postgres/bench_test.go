package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/internal/pgtest"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/bolt"
	"github.com/downtime-detector/downtime/receiver/store/postgres"
)

// benchBackends open each store for a benchmark: bbolt as shipped (fsync on
// commit) and without fsync, and PostgreSQL on the private test cluster
// (which runs with fsync=off, so it is compared with bbolt-nosync; a
// production server's fsync adds its disk's flush latency to both).
func benchBackends(b *testing.B) []struct {
	name string
	s    store.Store
} {
	open := func(o bolt.Options) store.Store {
		s, err := bolt.OpenWith(b.TempDir(), o)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	pg, err := postgres.Open(context.Background(), pgtest.DB(b), postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pg.Close() })
	return []struct {
		name string
		s    store.Store
	}{
		{"bbolt", open(bolt.Options{})},
		{"bbolt-nosync", open(bolt.Options{NoSync: true})},
		{"postgres", pg},
	}
}

// plan is the store part of one webhook request, what stands between
// "notification received" and "2xx answered": read the alert's state, store
// the new one and queue its job with its idempotency key, in one transaction.
func plan(s store.Store, n int, now time.Time) (store.Job, error) {
	ref := store.AlertRef{Route: "ops", Fingerprint: fmt.Sprintf("fp%d", n), StartsAt: t0}
	var queued []store.Job
	err := s.Update(func(tx store.Tx) error {
		st, _, err := tx.AlertState(ref)
		if err != nil {
			return err
		}
		st.Firing, st.Updated = true, now
		if err := tx.PutAlertState(ref, st); err != nil {
			return err
		}
		j := store.Job{Kind: store.KindFiring, ChatID: "-100", Text: "<b>host down</b>", Alerts: []store.AlertRef{ref},
			Keys: []string{ref.Key() + "/firing"}}
		queued, err = tx.Enqueue([]store.Job{j}, now)
		return err
	})
	if err == nil && len(queued) != 1 {
		err = fmt.Errorf("notification %d: queued %d jobs, want 1", n, len(queued))
	}
	if err != nil {
		return store.Job{}, err
	}
	return queued[0], nil
}

// BenchmarkEnqueue measures webhook-to-queued latency in the store: one
// planning transaction per notification, reported as p50/p99.
func BenchmarkEnqueue(b *testing.B) {
	for _, be := range benchBackends(b) {
		b.Run(be.name, func(b *testing.B) {
			var lat []time.Duration
			for i := 0; b.Loop(); i++ {
				start := time.Now()
				if _, err := plan(be.s, i, t0); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			reportLatency(b, lat)
		})
	}
}

// BenchmarkEnqueueComplete measures queue throughput: a job queued by a
// notification and completed with its message id, as the sender does.
func BenchmarkEnqueueComplete(b *testing.B) {
	for _, be := range benchBackends(b) {
		b.Run(be.name, func(b *testing.B) {
			start := time.Now()
			for i := 0; b.Loop(); i++ {
				j, err := plan(be.s, 1_000_000+i, t0)
				if err != nil {
					b.Fatal(err)
				}
				if err := be.s.Complete(j, []store.Sent{{ChatID: "-100", MessageID: i + 1, Text: j.Text}}, t0); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
		})
	}
}

// BenchmarkEnqueueTwoReceivers is the HA case: every notification reaches
// two receivers on one database at once (two webhook_configs); latency is
// until both have answered, one having queued the job and the other having
// found it already queued.
func BenchmarkEnqueueTwoReceivers(b *testing.B) {
	dsn := pgtest.DB(b)
	var rx [2]*postgres.Store
	for i := range rx {
		s, err := postgres.Open(context.Background(), dsn, postgres.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		rx[i] = s
	}
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		errs := make(chan error, 2)
		queued := make(chan int, 2)
		for _, s := range rx {
			go func() {
				n, err := receive(s, i, t0)
				queued <- n
				errs <- err
			}()
		}
		total := 0
		for range rx {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
			total += <-queued
		}
		lat = append(lat, time.Since(start))
		if total != 1 {
			b.Fatalf("notification %d: queued %d times, want 1", i, total)
		}
	}
	reportLatency(b, lat)
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
}
