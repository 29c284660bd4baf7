package webhook

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/internal/pgtest"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/bolt"
	"github.com/downtime-detector/downtime/receiver/store/postgres"
)

// BenchmarkWebhookStores is webhook-to-queued latency through the real
// handler (decode, route, plan, render stub, the store transaction, the
// JSON answer) on each store, as p50/p99: bbolt as shipped (fsync), bbolt
// without fsync, and PostgreSQL on the private test cluster (fsync off,
// over TCP loopback: compare it with bbolt-nosync).
func BenchmarkWebhookStores(b *testing.B) {
	for _, be := range []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"bbolt", func(b *testing.B) store.Store { return openBolt(b, bolt.Options{}) }},
		{"bbolt-nosync", func(b *testing.B) store.Store { return openBolt(b, bolt.Options{NoSync: true}) }},
		{"postgres", func(b *testing.B) store.Store { return openPostgres(b, pgtest.DB(b)) }},
	} {
		b.Run(be.name, func(b *testing.B) {
			h := New(Options{Store: be.open(b), Router: testRouter{}, Renderer: testRenderer{}})
			var lat []time.Duration
			for i := 0; b.Loop(); i++ {
				start := time.Now()
				serveOne(b, h, i)
				lat = append(lat, time.Since(start))
			}
			reportPercentiles(b, lat)
		})
	}
}

// BenchmarkWebhookTwoReceivers: every notification reaches two handlers on
// one PostgreSQL at once (two webhook_configs); latency until both have
// answered, one having queued the job, the other having found it queued.
func BenchmarkWebhookTwoReceivers(b *testing.B) {
	dsn := pgtest.DB(b)
	hs := []*Handler{
		New(Options{Store: openPostgres(b, dsn), Router: testRouter{}, Renderer: testRenderer{}}),
		New(Options{Store: openPostgres(b, dsn), Router: testRouter{}, Renderer: testRenderer{}}),
	}
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		var wg sync.WaitGroup
		for _, h := range hs {
			wg.Go(func() { serveOne(b, h, i) })
		}
		wg.Wait()
		lat = append(lat, time.Since(start))
	}
	reportPercentiles(b, lat)
}

func serveOne(b *testing.B, h *Handler, i int) {
	req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(payload("firing", alert("firing", fmt.Sprint("fp", i)))))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		b.Errorf("got %d %s, want 200", rec.Code, rec.Body)
	}
}

func openBolt(b *testing.B, o bolt.Options) store.Store {
	st, err := bolt.OpenWith(b.TempDir(), o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

func openPostgres(b *testing.B, dsn string) store.Store {
	st, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
}
