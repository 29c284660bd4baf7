package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/internal/clock/clocktest"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

// watchdogBody is Alertmanager's notification of its Watchdog alert.
func watchdogBody(start time.Time) string {
	a := template.Alert{Status: "firing", Fingerprint: "fp-watchdog", StartsAt: start,
		Labels:      template.KV{"alertname": "Watchdog", "severity": "none"},
		Annotations: template.KV{"summary": "An alert that should always be firing"}}
	return body("firing", a)
}

// stepMinutes moves the fake clock n minutes, one at a time, waiting
// after each until every loop that slept on the clock (the heartbeat
// watcher, whose sleep is at most a minute, the pruner, the digest
// scheduler, ...) sleeps on it again: as many timers as before the step.
// A fixed count would let the next step run before the watcher looked.
func stepMinutes(fc *clocktest.Fake, n int) {
	for range n {
		timers := fc.Timers()
		fc.Advance(time.Minute)
		fc.WaitTimers(timers)
	}
}

// Heartbeats stop: exactly one warning within the timeout; the receiver
// is stopped and started again on the same store during the silence and
// neither repeats nor forgets it; when heartbeats come back, the "back"
// message replies to the warning. Heartbeats themselves are never sent.
func TestHeartbeatLostAcrossRestartThenBack(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	fc := clocktest.New(time.Date(2026, 11, 24, 14, 2, 0, 0, time.UTC))
	cfg := writeConfig(t, "-100", "heartbeat:\n  timeout: 5m\n")
	dir := t.TempDir()
	start := func() *receiver {
		opts := newOptions(t, cfg, dir, tg.URL)
		opts.clock = fc
		r := startReceiver(t, opts)
		fc.WaitTimers(3) // the pruner, the digest scheduler and the heartbeat watcher
		return r
	}
	r := start()
	armed := fc.Armed()
	code, resp := post(t, r.url+"/webhook", watchdogBody(fc.Now()))
	if code != 200 || !strings.Contains(resp, `"queued":0`) {
		t.Fatalf("heartbeat: got %d %s, want 200 with nothing queued", code, resp)
	}
	// A heartbeat from a new source wakes the watcher, which stops its
	// timer, looks at the store and arms a new one. Stepping the clock
	// meanwhile (the timer count was one short) ran it past 14:07 before
	// the watcher armed, and no warning came (seen in CI).
	fc.WaitArmed(armed + 1)
	stepMinutes(fc, 4)
	if n := len(tg.Messages()); n != 0 {
		t.Fatalf("4m after the last heartbeat: got %d messages, want none", n)
	}
	// The warning is due at the timeout, 14:07. Wait for it before the
	// clock moves on: stepping past it first once let the watcher look
	// only after the clock had reached 14:08 (stepMinutes counts timers,
	// not whose they are), and the warning read "(6m)" (seen in CI).
	stepMinutes(fc, 1)
	msgs := tg.WaitMessages(t, 1, 10*time.Second)
	if want := "⚠️ no heartbeat from Alertmanager since 14:02 (5m): alerts may not be reaching you"; !strings.HasPrefix(msgs[0].Plain, want) ||
		!strings.Contains(msgs[0].Plain, "http://127.0.0.1:9093, receiver telegram") || msgs[0].ChatID != "-100" {
		t.Errorf("warning: got %q to %s, want %q naming the source, to -100", msgs[0].Plain, msgs[0].ChatID, want)
	}
	stepMinutes(fc, 1)
	settle(t, r.url)
	if got := metric(t, r.url, `downtime_receiver_heartbeat_missing{receiver="telegram",route=""}`); got != "1" {
		t.Errorf("heartbeat_missing during the silence: got %q, want 1", got)
	}

	if err := r.stop(); err != nil {
		t.Fatalf("stopping: %v", err)
	}
	r = start()
	stepMinutes(fc, 10)
	if n := len(tg.Messages()); n != 1 {
		t.Fatalf("after a restart during the silence: got %d messages, want still the one warning", n)
	}
	mustPost(t, r.url+"/webhook", watchdogBody(fc.Now().Add(-16*time.Minute)))
	msgs = tg.WaitMessages(t, 2, 10*time.Second)
	back := msgs[1]
	if !strings.HasPrefix(back.Plain, "✅ monitoring is back after 16m") || back.ReplyTo != msgs[0].MessageID {
		t.Errorf("back: got %q replying to %d, want \"monitoring is back after 16m\" replying to the warning %d",
			back.Plain, back.ReplyTo, msgs[0].MessageID)
	}
	settle(t, r.url)
	mustPost(t, r.url+"/webhook", watchdogBody(fc.Now()))
	for series, want := range map[string]string{
		`downtime_receiver_heartbeat_missing{receiver="telegram",route=""}`: "0",
		`downtime_receiver_messages_queued_total{kind="firing"}`:            "0",
		"downtime_receiver_queue_depth":                                     "0",
	} {
		if got := metric(t, r.url, series); got != want {
			t.Errorf("%s: got %q, want %s", series, got, want)
		}
	}
	last := `downtime_receiver_heartbeat_last_timestamp_seconds{receiver="telegram",route=""}`
	if got, want := metricFloat(t, r.url, last), float64(fc.Now().Unix()); got != want {
		t.Errorf("%s: got %v, want %v", last, got, want)
	}
	if n := len(tg.Messages()); n != 2 {
		t.Errorf("heartbeats sent as messages: got %d messages, want 2", n)
	}
}

// A heartbeat in a notification with other alerts: only the others are
// planned, and the answer counts only them.
func TestHeartbeatAmongOtherAlerts(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	r := startReceiver(t, newOptions(t, writeConfig(t, "-100", "heartbeat:\n  alertname: DeadMansSwitch\n"), t.TempDir(), tg.URL))
	dms := template.Alert{Status: "firing", Fingerprint: "fp-dms", StartsAt: time.Now(),
		Labels: template.KV{"alertname": "DeadMansSwitch"}}
	code, resp := post(t, r.url+"/webhook", body("firing", dms, hostAlert("firing", "db1", time.Now())))
	var answer struct{ Queued int }
	if err := json.Unmarshal([]byte(resp), &answer); code != 200 || err != nil || answer.Queued != 1 {
		t.Fatalf("got %d %s, want 200 with one job queued", code, resp)
	}
	msgs := tg.WaitMessages(t, 1, 10*time.Second)
	settle(t, r.url)
	if len(tg.Messages()) != 1 || !strings.Contains(msgs[0].Plain, "db1") || strings.Contains(msgs[0].Plain, "DeadMansSwitch") {
		t.Errorf("got %d messages, first %q, want only the db1 message", len(tg.Messages()), msgs[0].Plain)
	}
}

// A silence longer than the prune age (7 days): the pruner runs during it
// and keeps the open warning's message id, so the "back" message still
// replies to the warning.
func TestHeartbeatBackRepliesAfterPrune(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	fc := clocktest.New(time.Date(2026, 11, 24, 14, 2, 0, 0, time.UTC))
	opts := newOptions(t, writeConfig(t, "-100", "heartbeat:\n  timeout: 5m\n"), t.TempDir(), tg.URL)
	opts.clock = fc
	r := startReceiver(t, opts)
	fc.WaitTimers(3) // the pruner, the digest scheduler and the heartbeat watcher
	armed := fc.Armed()
	mustPost(t, r.url+"/webhook", watchdogBody(fc.Now()))
	fc.WaitArmed(armed + 1) // the watcher, woken by a new source, armed again
	stepMinutes(fc, 6)
	warning := tg.WaitMessages(t, 1, 10*time.Second)[0]
	settle(t, r.url) // the warning's message id is recorded

	// Eight days in one step: every loop wakes once, the pruner with a
	// cutoff a day after the warning was sent.
	timers := fc.Timers()
	fc.Advance(8 * 24 * time.Hour)
	fc.WaitTimers(timers)
	if !strings.Contains(r.logs.String(), "pruned old keys and alert states") {
		t.Fatalf("the pruner did not prune anything after 8 days; logs:\n%s", r.logs.String())
	}
	mustPost(t, r.url+"/webhook", watchdogBody(fc.Now()))
	msgs := tg.WaitMessages(t, 2, 10*time.Second)
	if back := msgs[1]; !strings.HasPrefix(back.Plain, "✅ monitoring is back after") || back.ReplyTo != warning.MessageID {
		t.Errorf("back after 8 days: got %q replying to %d, want \"monitoring is back\" replying to the warning %d",
			back.Plain, back.ReplyTo, warning.MessageID)
	}
}
