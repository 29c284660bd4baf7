package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/internal/clock/clocktest"
	"github.com/downtime-detector/downtime/receiver/incident/incidenttest"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/bolt"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
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

// defaultDigestConfig has a digest for the default chat (-100) and one for
// the route ops (team="ops"); its own writeConfig, since the digest is in
// the telegram section.
func defaultDigestConfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "receiver.yml")
	body := fmt.Sprintf(`telegram:
  bot_token: %q
  chat_id: "-100"
  message_thread_id: 5
  digest: {period: daily, at: "08:00", quiet_line: "All quiet in the default chat."}
timezone: UTC
routes:
  - name: ops
    matchers: ['team="ops"']
    chat_id: "-100456"
    digest: {period: daily, at: "08:00", quiet_line: "ops: all quiet."}
`, testToken)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDefaultChatDigest: with telegram.digest, the default chat gets its
// digest at 08:00 with its own incidents only (the route's are in the
// route's digest), once per day also across a restart, and its quiet line
// the next day. Fake clock, fake Telegram, a real receiver.
func TestDefaultChatDigest(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	st, err := bolt.OpenWith(dir, bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Yesterday: nas (default chat) down 1h30m, db1 (route ops) down 20m.
	for _, inc := range []struct {
		route, target string
		from, to      time.Duration
	}{{"", "nas", -2 * time.Hour, -30 * time.Minute}, {"ops", "db1", -5 * time.Hour, -(4*time.Hour + 40*time.Minute)}} {
		i, err := st.Incidents().Open(ctx, incidenttest.Fixture(inc.route, "fp-"+inc.target, inc.target, day.Add(inc.from)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Incidents().Resolve(ctx, i.Key, day.Add(inc.to)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	tg := telegramtest.NewServer(t, testToken)
	tg.SetForum("-100", 5)
	fc := clocktest.New(day.Add(7*time.Hour + 58*time.Minute))
	cfg := defaultDigestConfig(t)
	start := func() *receiver {
		opts := newOptions(t, cfg, dir, tg.URL)
		opts.clock = fc
		r := startReceiver(t, opts)
		fc.WaitTimers(3) // the pruner, the digest scheduler and the heartbeat watcher
		return r
	}
	r := start()
	stepMinutes(fc, 1)
	if n := len(tg.Messages()); n != 0 {
		t.Fatalf("at 07:59: got %d messages, want none", n)
	}
	stepMinutes(fc, 2)
	msgs := tg.WaitMessages(t, 2, 10*time.Second)
	byChat := map[string]telegramtest.Sent{}
	for _, m := range msgs {
		byChat[m.ChatID] = m
	}
	def, ops := byChat["-100"], byChat["-100456"]
	if !strings.Contains(def.Plain, "Daily digest") || !strings.Contains(def.Plain, "nas") ||
		!strings.Contains(def.Plain, "1h30m") || strings.Contains(def.Plain, "db1") || def.ThreadID != 5 {
		t.Errorf("default chat's digest: got %q in topic %d, want nas down 1h30m and not db1, in topic 5", def.Plain, def.ThreadID)
	}
	if !strings.Contains(ops.Plain, "db1") || strings.Contains(ops.Plain, "nas") {
		t.Errorf("ops' digest: got %q, want db1 and not nas", ops.Plain)
	}
	settle(t, r.url)

	// A restart within the hour's grace: neither digest again.
	if err := r.stop(); err != nil {
		t.Fatalf("stopping: %v", err)
	}
	r = start()
	stepMinutes(fc, 10)
	settle(t, r.url)
	if n := len(tg.Messages()); n != 2 {
		t.Fatalf("after a restart at 08:13: got %d messages, want still 2", n)
	}

	// The next day, nothing happened: the quiet lines, once each.
	fc.Set(day.Add(24*time.Hour + 7*time.Hour + 50*time.Minute))
	stepMinutes(fc, 15)
	tg.WaitMessages(t, 4, 10*time.Second)
	settle(t, r.url)
	if msgs = tg.Messages(); len(msgs) != 4 {
		t.Fatalf("the next day: got %d messages, want 4 (two digests a day)", len(msgs))
	}
	for _, m := range msgs[2:] {
		want := map[string]string{"-100": "All quiet in the default chat.", "-100456": "ops: all quiet."}[m.ChatID]
		if want == "" || !strings.Contains(m.Plain, want) {
			t.Errorf("next day's digest to %s: got %q, want it to contain %q", m.ChatID, m.Plain, want)
		}
	}
}
