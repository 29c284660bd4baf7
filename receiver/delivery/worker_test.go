package delivery

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/downtime-detector/downtime/internal/clock"
	"github.com/downtime-detector/downtime/internal/clock/clocktest"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/bolt"
	"github.com/downtime-detector/downtime/receiver/telegram"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

const token = "123456:TEST-token-never-logged"

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

type env struct {
	st   store.Store
	tg   *telegramtest.Server
	w    *Worker
	reg  *prometheus.Registry
	stop func()
}

func newEnv(t *testing.T, limits Limits) *env {
	t.Helper()
	return newEnvClock(t, limits, clock.Real())
}

// newEnvClock is newEnv with the worker on clk.
func newEnvClock(t *testing.T, limits Limits, clk clock.Clock) *env {
	t.Helper()
	st, err := bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tg := telegramtest.NewServer(t, token)
	client, err := telegram.New(token, tg.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, tg: tg, reg: prometheus.NewRegistry()}
	e.w = New(Options{Store: st, Sender: client, Limits: limits, Registerer: e.reg,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Clock: clk})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { e.w.Run(ctx) })
	e.stop = sync.OnceFunc(func() { cancel(); wg.Wait() })
	t.Cleanup(func() { e.stop(); st.Close() })
	return e
}

func ref(fp string) store.AlertRef { return store.AlertRef{Route: "r", Fingerprint: fp, StartsAt: t0} }

func (e *env) enqueue(t *testing.T, jobs ...store.Job) {
	t.Helper()
	if _, err := store.Enqueue(e.st, jobs, e.w.opts.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.w.Notify()
}

func firing(chat, fp string) store.Job {
	return store.Job{Kind: store.KindFiring, ChatID: chat, Text: "<b>down</b> " + fp, Alerts: []store.AlertRef{ref(fp)}}
}

func (e *env) waitQueueEmpty(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s, _ := e.st.Stats(); s.Depth == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	s, _ := e.st.Stats()
	t.Fatalf("queue depth: got %d after 10s, want 0", s.Depth)
}

// drain moves fc whenever the worker waits on it (a backoff, or a 429 from
// the fake's own per-chat limit) until the queue is empty.
func (e *env) drain(t *testing.T, fc *clocktest.Fake) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s, _ := e.st.Stats(); s.Depth == 0 {
			return
		}
		if fc.Timers() > 0 {
			fc.Advance(time.Second)
		}
		time.Sleep(5 * time.Millisecond)
	}
	s, _ := e.st.Stats()
	t.Fatalf("queue depth: got %d after 10s, want 0", s.Depth)
}

func TestFiringResolvedReplyAndEdit(t *testing.T) {
	e := newEnv(t, Limits{})
	e.enqueue(t, firing("-1", "a"),
		store.Job{Kind: store.KindResolved, ChatID: "-1", Text: "up a", Alerts: []store.AlertRef{ref("a")}},
		store.Job{Kind: store.KindEdit, ChatID: "-1", Text: "<s>down</s> a", Alerts: []store.AlertRef{ref("a")}})
	msgs := e.tg.WaitMessages(t, 2, 5*time.Second)
	if msgs[1].ReplyTo != msgs[0].MessageID || msgs[1].Text != "up a" {
		t.Errorf("resolved: got reply to %d text %q, want reply to %d", msgs[1].ReplyTo, msgs[1].Text, msgs[0].MessageID)
	}
	edits := e.tg.WaitEdits(t, 1, 5*time.Second)
	if edits[0].MessageID != msgs[0].MessageID || edits[0].Text != "<s>down</s> a" {
		t.Errorf("edit: got %+v, want message %d edited", edits[0], msgs[0].MessageID)
	}
	e.waitQueueEmpty(t)
	if got := testutil.ToFloat64(e.w.metrics.sent.WithLabelValues("resolved")); got != 1 {
		t.Errorf("messages_sent_total{kind=resolved}: got %v, want 1", got)
	}
}

// TestRetries moves a fake clock: nothing is sent again before the retry
// delay (retry_after, or the backoff doubling from MinBackoff), and the
// job is sent once it has passed.
func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name        string
		n, code, ra int
		delays      []time.Duration // one per failure
	}{
		{"429 honours retry_after", 1, 429, 1, []time.Duration{time.Second}},
		{"5xx retried with backoff", 3, 502, 0, []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond}},
		{"500 retried", 1, 500, 0, []time.Duration{20 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := clocktest.New(t0)
			e := newEnvClock(t, Limits{}, fc)
			e.tg.FailNext(tc.n, tc.code, tc.ra)
			e.enqueue(t, firing("42", "a"))
			for i, d := range tc.delays {
				fc.WaitTimers(1) // the worker waits for the retry
				fc.Advance(d - time.Millisecond)
				fc.WaitTimers(1)
				if n := len(e.tg.Messages()); n != 0 {
					t.Fatalf("attempt %d: %d message(s) sent %v early", i+2, n, time.Millisecond)
				}
				fc.Advance(time.Millisecond)
			}
			// The worker reads the time, then arms its timer: an Advance in
			// between (a wake-up left from the enqueue makes that possible)
			// arms it later than planned. That can only delay the send, so
			// keep moving the clock until it comes.
			deadline := time.Now().Add(30 * time.Second)
			for len(e.tg.Messages()) == 0 && time.Now().Before(deadline) {
				fc.Advance(tc.delays[len(tc.delays)-1])
				time.Sleep(5 * time.Millisecond)
			}
			msgs := e.tg.WaitMessages(t, 1, time.Second)
			e.waitQueueEmpty(t)
			if len(msgs) != 1 {
				t.Errorf("messages: got %d, want 1", len(msgs))
			}
			if got := testutil.ToFloat64(e.w.metrics.retries); got != float64(tc.n) {
				t.Errorf("retries_total: got %v, want %d", got, tc.n)
			}
		})
	}
}

func TestPermanentErrorDeadLetters(t *testing.T) {
	e := newEnv(t, Limits{})
	e.tg.FailNext(1, 403, 0)
	e.enqueue(t, firing("42", "a"), firing("42", "b"))
	msgs := e.tg.WaitMessages(t, 1, 5*time.Second)
	e.waitQueueEmpty(t)
	if msgs[0].Text != "<b>down</b> b" {
		t.Errorf("sent: got %q, want the second job", msgs[0].Text)
	}
	dl, _ := e.st.DeadLetters()
	if len(dl) != 1 || dl[0].Reason != telegram.ReasonForbidden {
		t.Errorf("dead letters: got %+v, want one forbidden", dl)
	}
	if got := testutil.ToFloat64(e.w.metrics.failed.WithLabelValues(telegram.ReasonForbidden)); got != 1 {
		t.Errorf("messages_failed_total{reason=forbidden}: got %v, want 1", got)
	}
	if err := testutil.GatherAndCompare(e.reg, stringsReader("# HELP downtime_receiver_dead_letters Jobs Telegram refused permanently, kept in the store.\n# TYPE downtime_receiver_dead_letters gauge\ndowntime_receiver_dead_letters 1\n"), "downtime_receiver_dead_letters"); err != nil {
		t.Error(err)
	}
}

func TestChatMigration(t *testing.T) {
	e := newEnv(t, Limits{})
	e.tg.MigrateChat("-1", "-1001")
	e.enqueue(t, firing("-1", "a"))
	e.tg.WaitMessages(t, 1, 5*time.Second)
	e.enqueue(t, firing("-1", "b"))
	msgs := e.tg.WaitMessages(t, 2, 5*time.Second)
	for i, m := range msgs {
		if m.ChatID != "-1001" {
			t.Errorf("message %d: got chat %s, want -1001", i, m.ChatID)
		}
	}
	if dl, _ := e.st.DeadLetters(); len(dl) != 0 {
		t.Errorf("dead letters: got %d, want 0", len(dl))
	}
}

func TestOutageDelaysNeverDrops(t *testing.T) {
	fc := clocktest.New(t0)
	e := newEnvClock(t, Limits{}, fc)
	e.tg.SetDown(true)
	for i := range 5 {
		e.enqueue(t, firing("42", fmt.Sprint(i)))
	}
	// Several failed attempts, up to the longest backoff.
	for range 5 {
		fc.WaitTimers(1)
		fc.Advance(200 * time.Millisecond)
	}
	fc.WaitTimers(1)
	if n := len(e.tg.Messages()); n != 0 {
		t.Fatalf("messages while down: got %d, want 0", n)
	}
	if s, _ := e.st.Stats(); s.Depth != 5 {
		t.Fatalf("queue while down: got %d jobs, want 5", s.Depth)
	}
	e.tg.SetDown(false)
	e.drain(t, fc)
	msgs := e.tg.Messages()
	if len(msgs) != 5 {
		t.Fatalf("messages after outage: got %d, want 5", len(msgs))
	}
	for i, m := range msgs {
		if want := "<b>down</b> " + fmt.Sprint(i); m.Text != want {
			t.Errorf("message %d: got %q, want %q (order kept)", i, m.Text, want)
		}
	}
}

// Jobs for several chats with Telegram's limits: the fake never answers 429.
func TestPacingWithinLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("takes ~4s")
	}
	e := newEnv(t, DefaultLimits())
	var jobs []store.Job
	for i := range 5 {
		for _, chat := range []string{"1", "2", "-3", "-4"} {
			jobs = append(jobs, firing(chat, fmt.Sprint(chat, i)))
		}
	}
	e.enqueue(t, jobs...)
	e.tg.WaitMessages(t, len(jobs), 15*time.Second)
	if n := e.tg.TooManyRequests(); n != 0 {
		t.Errorf("429 answers: got %d, want 0", n)
	}
}

// Stopping the worker while a send is in flight lets it finish and be recorded.
func TestShutdownFinishesInFlight(t *testing.T) {
	st, err := bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := &slowSender{started: make(chan struct{}), release: make(chan struct{})}
	w := New(Options{Store: st, Sender: s})
	if _, err := store.Enqueue(st, []store.Job{firing("1", "a"), firing("1", "b")}, t0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	<-s.started
	cancel()
	close(s.release)
	<-done
	jobs, _ := st.Pending(0)
	if len(jobs) != 1 || jobs[0].Text != "<b>down</b> b" {
		t.Errorf("queue after shutdown: got %d jobs, want only job b left", len(jobs))
	}
	if fm, ok, _ := st.FiringMessage(ref("a")); !ok || fm.MessageID != 7 {
		t.Errorf("in-flight job a: got %+v %v, want message 7 recorded", fm, ok)
	}
}

type slowSender struct {
	started, release chan struct{}
	once             sync.Once
}

func (s *slowSender) Send(ctx context.Context, _ telegram.Message) (int, error) {
	s.once.Do(func() { close(s.started) })
	select {
	case <-s.release:
		return 7, ctx.Err()
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (s *slowSender) Edit(context.Context, string, int, string) error { return nil }

// After an outage, reminders of alerts that resolved meanwhile are dropped;
// the firing message and the resolved reply are still sent.
func TestStaleRemindersSkipped(t *testing.T) {
	e := newEnv(t, Limits{})
	e.tg.SetDown(true)
	e.enqueue(t, firing("42", "a"),
		store.Job{Kind: store.KindReminder, Reminder: 1, ChatID: "42", Text: "still down a", Alerts: []store.AlertRef{ref("a")}},
		store.Job{Kind: store.KindResolved, ChatID: "42", Text: "up a", Alerts: []store.AlertRef{ref("a")}})
	err := e.st.Update(func(tx store.Tx) error {
		return tx.PutAlertState(ref("a"), store.AlertState{Firing: true, Reminder: 1, Resolved: true})
	})
	if err != nil {
		t.Fatal(err)
	}
	e.tg.SetDown(false)
	e.waitQueueEmpty(t)
	msgs := e.tg.Messages()
	if len(msgs) != 2 || msgs[0].Text != "<b>down</b> a" || msgs[1].Text != "up a" || msgs[1].ReplyTo != msgs[0].MessageID {
		t.Errorf("got %+v, want firing then resolved reply, no reminder", msgs)
	}
	if got := testutil.ToFloat64(e.w.metrics.sent.WithLabelValues("reminder")); got != 0 {
		t.Errorf("messages_sent_total{kind=reminder}: got %v, want 0", got)
	}
}

// TestNoReplyOrEditAcrossChats: a message id names a message only in its own
// chat. After a group was upgraded to a supergroup, message 1 of the
// supergroup is another alert's message: the resolved message must not
// reply to it, and the edit must not change it.
func TestNoReplyOrEditAcrossChats(t *testing.T) {
	e := newEnv(t, Limits{})
	e.enqueue(t, firing("-1", "a"))
	old := e.tg.WaitMessages(t, 1, 5*time.Second)[0]
	e.waitQueueEmpty(t)

	e.tg.MigrateChat("-1", "-1001")
	e.enqueue(t, firing("-1", "b"))
	b := e.tg.WaitMessages(t, 2, 5*time.Second)[1]
	e.waitQueueEmpty(t)
	if b.ChatID != "-1001" || b.MessageID != old.MessageID {
		t.Fatalf("setup: got b as message %d in %s, want message %d in -1001", b.MessageID, b.ChatID, old.MessageID)
	}

	e.enqueue(t, store.Job{Kind: store.KindResolved, ChatID: "-1", Text: "up a", Alerts: []store.AlertRef{ref("a")}},
		store.Job{Kind: store.KindEdit, ChatID: "-1", Text: "<s>down</s> a", Alerts: []store.AlertRef{ref("a")}})
	resolved := e.tg.WaitMessages(t, 3, 5*time.Second)[2]
	e.waitQueueEmpty(t)
	if resolved.ChatID != "-1001" || resolved.ReplyTo != 0 {
		t.Errorf("resolved: got chat %s reply to %d, want chat -1001 and no reply (a's message is in -1)",
			resolved.ChatID, resolved.ReplyTo)
	}
	if edits := e.tg.Edits(); len(edits) != 0 {
		t.Errorf("got edits %+v, want none (a's message is in the old group)", edits)
	}
	if dl, _ := e.st.DeadLetters(); len(dl) != 0 {
		t.Errorf("dead letters: got %+v, want none", dl)
	}

	// A route change: the resolved message goes to another chat than the
	// firing one (-1001 holds b's firing message).
	e.enqueue(t, store.Job{Kind: store.KindResolved, ChatID: "-2", Text: "up b", Alerts: []store.AlertRef{ref("b")}})
	other := e.tg.WaitMessages(t, 4, 5*time.Second)[3]
	if other.ChatID != "-2" || other.ReplyTo != 0 {
		t.Errorf("resolved in another chat: got chat %s reply to %d, want chat -2 and no reply", other.ChatID, other.ReplyTo)
	}
	// Same chat: the reply is kept, the edit done.
	e.enqueue(t, store.Job{Kind: store.KindResolved, ChatID: "-1", Text: "up b", Alerts: []store.AlertRef{ref("b")}},
		store.Job{Kind: store.KindEdit, ChatID: "-1", Text: "<s>down</s> b", Alerts: []store.AlertRef{ref("b")}})
	same := e.tg.WaitMessages(t, 5, 5*time.Second)[4]
	if same.ChatID != "-1001" || same.ReplyTo != b.MessageID {
		t.Errorf("resolved in the same chat: got chat %s reply to %d, want -1001 reply to %d", same.ChatID, same.ReplyTo, b.MessageID)
	}
	if edits := e.tg.WaitEdits(t, 1, 5*time.Second); edits[0].ChatID != "-1001" || edits[0].MessageID != b.MessageID {
		t.Errorf("edit: got %+v, want message %d in -1001", edits[0], b.MessageID)
	}
}

// TestTimeoutAfterAcceptDuplicates is the at-least-once window: the Bot API
// finishes a request whose client gave up, so a send that times out and is
// retried appears twice. A send timeout well above Telegram's answer time
// keeps that to real outages.
func TestTimeoutAfterAcceptDuplicates(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		want    int
	}{
		{"timeout below the answer time", 50 * time.Millisecond, 2},
		{"default timeout", 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := bolt.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			tg := telegramtest.NewServer(t, token)
			tg.DelayNext(1, 500*time.Millisecond)
			client, err := telegram.New(token, tg.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			w := New(Options{Store: st, Sender: client, SendTimeout: tc.timeout,
				MinBackoff: 10 * time.Millisecond, MaxBackoff: 10 * time.Millisecond})
			if _, err := store.Enqueue(st, []store.Job{firing("-1", "a")}, t0); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Go(func() { w.Run(ctx) })
			defer func() { cancel(); wg.Wait() }()
			// Every attempt is processed once tc.want messages exist: the
			// first (delayed) one is among them.
			tg.WaitMessages(t, tc.want, 10*time.Second)
			(&env{st: st}).waitQueueEmpty(t)
			msgs := tg.Messages()
			if len(msgs) != tc.want {
				t.Errorf("got %d messages, want %d", len(msgs), tc.want)
			}
			for i, m := range msgs {
				if m.Text != "<b>down</b> a" {
					t.Errorf("message %d: got %q, want job a's text", i, m.Text)
				}
			}
		})
	}
}

// TestEditInMigratedChat: an edit refused because the firing message's group
// was upgraded (unknown to the store yet) records the migration of that
// group, not of the job's chat (another one after a route change), and is
// skipped.
func TestEditInMigratedChat(t *testing.T) {
	e := newEnv(t, Limits{})
	e.enqueue(t, firing("-1", "a"))
	e.tg.WaitMessages(t, 1, 5*time.Second)
	e.waitQueueEmpty(t)
	e.tg.MigrateChat("-1", "-1001")
	e.enqueue(t, store.Job{Kind: store.KindEdit, ChatID: "-2", Text: "<s>down</s> a", Alerts: []store.AlertRef{ref("a")}})
	e.waitQueueEmpty(t)
	if edits := e.tg.Edits(); len(edits) != 0 {
		t.Errorf("got edits %+v, want none", edits)
	}
	if dl, _ := e.st.DeadLetters(); len(dl) != 0 {
		t.Errorf("dead letters: got %+v, want none", dl)
	}
	for chat, want := range map[string]string{"-1": "-1001", "-2": "-2"} {
		if got, _ := e.st.ChatFor(chat); got != want {
			t.Errorf("ChatFor(%s): got %s, want %s", chat, got, want)
		}
	}
}

// TestForumTopics: a message goes to its forum topic; a topic Telegram does
// not know ("message thread not found") is a permanent error, dead-lettered
// without holding up the rest.
func TestForumTopics(t *testing.T) {
	e := newEnv(t, Limits{})
	e.tg.SetForum("-1001", 5)
	in := func(fp string, thread int) store.Job {
		j := firing("-1001", fp)
		j.ThreadID = thread
		return j
	}
	e.enqueue(t, in("a", 7), in("b", 5), in("c", 0))
	msgs := e.tg.WaitMessages(t, 2, 5*time.Second)
	e.waitQueueEmpty(t)
	if msgs[0].ThreadID != 5 || msgs[1].ThreadID != 0 {
		t.Errorf("got topics %d and %d, want 5 and 0 (General)", msgs[0].ThreadID, msgs[1].ThreadID)
	}
	dl, _ := e.st.DeadLetters()
	if len(dl) != 1 || dl[0].Reason != telegram.ReasonBadRequest || dl[0].Job.ThreadID != 7 {
		t.Errorf("dead letters: got %+v, want the topic-7 job as bad_request", dl)
	}
}
