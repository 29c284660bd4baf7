package main

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/internal/clock/clocktest"
	"github.com/downtime-detector/downtime/receiver/incident/incidenttest"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/bolt"
)

// startDigester runs a digester over st with the config extra until the
// test ends; it returns once the digester sleeps.
func startDigester(t *testing.T, st store.Store, inc *bolt.Store, fc *clocktest.Fake, extra string) {
	t.Helper()
	opts := newOptions(t, writeConfig(t, "-100", extra), "", "")
	opts.dryRun = true
	cur, err := loadCurrent(opts, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &digester{lv: newLive(cur, fc.Now, slog.New(slog.DiscardHandler)), st: st, log: inc.Incidents(),
		clk: fc, logger: slog.New(slog.DiscardHandler), queued: func() {}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { d.run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func digestJobs(t *testing.T, st store.Store) []store.Job {
	t.Helper()
	jobs, err := st.Pending(0)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Job
	for _, j := range jobs {
		if j.Kind == store.KindDigest {
			out = append(out, j)
		}
	}
	return out
}

const digestConfig = `routes:
  - name: ops
    chat_id: "-100456"
    message_thread_id: 7
    digest: {period: daily, at: "08:00", quiet_line: "All quiet."}
  - name: family
    chat_id: "-100789"
    digest: {period: daily, at: "08:00"}
`

// TestDigest moves a fake clock to the digest time: each route's digest
// is queued once, with its incidents (or its quiet line, or nothing), and
// a restart does not queue it again.
func TestDigest(t *testing.T) {
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	st, err := bolt.OpenWith(t.TempDir(), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	// family: nas went down yesterday 22:00 and came back at 23:30.
	nas, err := st.Incidents().Open(ctx, incidenttest.Fixture("family", "fp1", "nas", day.Add(-2*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Incidents().Resolve(ctx, nas.Key, day.Add(-30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	fc := clocktest.New(day.Add(7*time.Hour + 59*time.Minute))
	startDigester(t, st, st, fc, digestConfig)
	fc.WaitTimers(1)
	if jobs := digestJobs(t, st); len(jobs) != 0 {
		t.Fatalf("before 08:00: got %d digests, want none (yesterday's is past the grace)", len(jobs))
	}
	fc.Advance(time.Minute)
	fc.WaitTimers(1)
	jobs := digestJobs(t, st)
	if len(jobs) != 2 {
		t.Fatalf("at 08:00: got %d digests, want one per route", len(jobs))
	}
	byRoute := map[string]store.Job{}
	for _, j := range jobs {
		byRoute[j.Route] = j
	}
	if j := byRoute["ops"]; j.ChatID != "-100456" || j.ThreadID != 7 || !strings.Contains(j.Text, "All quiet.") {
		t.Errorf("ops digest: got %+v, want the quiet line to chat -100456 topic 7", j)
	}
	if j := byRoute["family"]; !strings.Contains(j.Text, "nas") || !strings.Contains(j.Text, "1h30m") {
		t.Errorf("family digest: got %q, want nas down for 1h30m", j.Text)
	}

	// A restart 10 minutes later: nothing queued twice.
	fc2 := clocktest.New(day.Add(8*time.Hour + 10*time.Minute))
	startDigester(t, st, st, fc2, digestConfig)
	fc2.WaitTimers(1)
	if n := len(digestJobs(t, st)); n != 2 {
		t.Errorf("after a restart: got %d digests, want still 2", n)
	}
}

// TestDigestQuietWithoutLine: a quiet period without quiet_line sends
// nothing.
func TestDigestQuietWithoutLine(t *testing.T) {
	st, err := bolt.OpenWith(t.TempDir(), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fc := clocktest.New(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC))
	startDigester(t, st, st, fc, digestConfig)
	fc.WaitTimers(1)
	jobs := digestJobs(t, st)
	if len(jobs) != 1 || jobs[0].Route != "ops" {
		t.Errorf("got %+v, want only ops' quiet line", jobs)
	}
}
