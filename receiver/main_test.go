package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/internal/clock/clocktest"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

func TestFiringRemindersResolved(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	clk := clocktest.New(t0)
	opts := newOptions(t, writeConfig(t, "-100", "reminders:\n  after: [10m, 30m, 1h]\n"), t.TempDir(), tg.URL)
	opts.now = clk.Now
	r := startReceiver(t, opts)

	firing := body("firing", hostAlert("firing", "web1", t0))
	mustPost(t, r.url+"/webhook", firing)
	msgs := tg.WaitMessages(t, 1, 5*time.Second)
	if !strings.Contains(msgs[0].Plain, "web1") || msgs[0].ChatID != "-100" {
		t.Fatalf("firing message: got %+v, want web1 in chat -100", msgs[0])
	}
	// Alertmanager repeats every 5 minutes: reminders at 10m, 30m, final at 1h.
	for m := 5; m <= 70; m += 5 {
		clk.Set(t0.Add(time.Duration(m) * time.Minute))
		mustPost(t, r.url+"/webhook", firing)
	}
	tg.WaitMessages(t, 4, 15*time.Second)
	settle(t, r.url)
	if msgs = tg.Messages(); len(msgs) != 4 {
		t.Fatalf("messages after 70m of repeats: got %d, want firing + 2 reminders + final", len(msgs))
	}
	for i, want := range []string{"10m", "30m", "1h"} {
		if !strings.Contains(msgs[i+1].Plain, want) {
			t.Errorf("reminder %d: got %q, want it to mention %s", i+1, msgs[i+1].Plain, want)
		}
	}
	clk.Set(t0.Add(75 * time.Minute))
	mustPost(t, r.url+"/webhook", body("resolved", hostAlert("resolved", "web1", t0)))
	msgs = tg.WaitMessages(t, 5, 5*time.Second)
	if msgs[4].ReplyTo != msgs[0].MessageID {
		t.Errorf("resolved: got reply to %d, want the firing message %d", msgs[4].ReplyTo, msgs[0].MessageID)
	}
	if !strings.Contains(msgs[4].Plain, "42m") {
		t.Errorf("resolved: got %q, want the downtime 42m", msgs[4].Plain)
	}
	edits := tg.WaitEdits(t, 1, 5*time.Second)
	if edits[0].MessageID != msgs[0].MessageID {
		t.Errorf("edit: got message %d, want the firing message %d", edits[0].MessageID, msgs[0].MessageID)
	}
	// A late duplicate of the resolved notification changes nothing.
	mustPost(t, r.url+"/webhook", body("resolved", hostAlert("resolved", "web1", t0)))
	settle(t, r.url)
	if n, e := len(tg.Messages()), len(tg.Edits()); n != 5 || e != 1 {
		t.Errorf("after duplicate resolved: got %d messages %d edits, want 5 and 1", n, e)
	}
}

// An Alertmanager retry and an HA pair posting the same notification at the
// same time produce one message.
func TestDuplicatesAndHAPair(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	r := startReceiver(t, newOptions(t, writeConfig(t, "-100", ""), t.TempDir(), tg.URL))
	payload := body("firing", hostAlert("firing", "db1", time.Now().Add(-time.Minute)))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { mustPost(t, r.url+"/webhook", payload) })
	}
	wg.Wait()
	mustPost(t, r.url+"/webhook", payload)
	tg.WaitMessages(t, 1, 5*time.Second)
	settle(t, r.url)
	if n := len(tg.Messages()); n != 1 {
		t.Errorf("messages: got %d, want 1", n)
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	cfg := writeConfig(t, "-100", "webhook_auth:\n  basic_auth:\n    username: am\n    password: hunter2\n")
	r := startReceiver(t, newOptions(t, cfg, t.TempDir(), tg.URL))
	payload := body("firing", hostAlert("firing", "a", time.Now()))
	code, resp := post(t, r.url+"/webhook", payload)
	if code != 401 || !strings.Contains(resp, `"error"`) {
		t.Errorf("without credentials: got %d %s, want 401 with a JSON error", code, resp)
	}
	if code, _ := post(t, r.url+"/webhook", payload, "Authorization", "Basic YW06d3Jvbmc="); code != 401 {
		t.Errorf("wrong password: got %d, want 401", code)
	}
	if code, resp := post(t, r.url+"/webhook", payload, "Authorization", "Basic YW06aHVudGVyMg=="); code != 200 {
		t.Errorf("right password: got %d %s, want 200", code, resp)
	}
	tg.WaitMessages(t, 1, 5*time.Second)
	if strings.Contains(r.logs.String(), "hunter2") {
		t.Errorf("logs contain the webhook password")
	}
}

func TestBadInputLeavesServiceWorking(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	r := startReceiver(t, newOptions(t, writeConfig(t, "-100", ""), t.TempDir(), tg.URL))
	for _, tc := range []struct {
		name, path, body string
		code             int
	}{
		{"malformed", "/webhook", `{"version":`, 400},
		{"version", "/webhook", `{"version":"2","status":"firing","alerts":[]}`, 400},
		{"missing fingerprint", "/webhook", `{"version":"4","status":"firing","alerts":[{"status":"firing","startsAt":"2026-01-01T00:00:00Z"}]}`, 400},
		{"oversized", "/webhook", `{"version":"4","pad":"` + strings.Repeat("a", 2<<20) + `"}`, 413},
		{"unknown route", "/webhook/nope", body("firing", hostAlert("firing", "a", time.Now())), 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, resp := post(t, r.url+tc.path, tc.body); code != tc.code || !strings.HasPrefix(resp, `{"error":`) {
				t.Errorf("got %d %s, want %d with a JSON error", code, resp, tc.code)
			}
		})
	}
	if got := metric(t, r.url, `downtime_receiver_webhook_invalid_total{reason="unknown_route"}`); got != "1" {
		t.Errorf("invalid_total{reason=unknown_route}: got %q, want 1", got)
	}
	mustPost(t, r.url+"/webhook", body("firing", hostAlert("firing", "ok", time.Now())))
	tg.WaitMessages(t, 1, 5*time.Second)
	if n := len(tg.Messages()); n != 1 {
		t.Errorf("messages: got %d, want only the good one", n)
	}
}

// The receiver starts and is ready with Telegram unreachable, queues, and
// sends once Telegram answers (5xx on the way are retried).
func TestStartsWhileTelegramDown(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	tg.SetDown(true)
	fc := clocktest.New(time.Now())
	opts := newOptions(t, writeConfig(t, "-100", ""), t.TempDir(), tg.URL)
	opts.clock = fc
	r := startReceiver(t, opts)
	mustPost(t, r.url+"/webhook", body("firing", hostAlert("firing", "a", fc.Now())))
	fc.WaitTimers(3) // the pruner's, the heartbeat watcher's, and the worker's backoff after a failed send
	if got := metric(t, r.url, "downtime_receiver_queue_depth"); got != "1" {
		t.Errorf("queue depth while down: got %q, want 1", got)
	}
	tg.SetDown(false)
	fc.Advance(5 * time.Minute) // the longest backoff
	tg.WaitMessages(t, 1, 10*time.Second)
	if got := metric(t, r.url, "downtime_receiver_retries_total"); got == "0" || got == "" {
		t.Errorf("retries_total: got %q, want > 0", got)
	}
}

func TestForbiddenIsDeadLettered(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	r := startReceiver(t, newOptions(t, writeConfig(t, "-100", ""), t.TempDir(), tg.URL))
	tg.FailNext(1, 403, 0)
	mustPost(t, r.url+"/webhook", body("firing", hostAlert("firing", "a", time.Now())))
	mustPost(t, r.url+"/webhook", body("firing", hostAlert("firing", "b", time.Now())))
	tg.WaitMessages(t, 1, 5*time.Second)
	settle(t, r.url)
	for series, want := range map[string]string{
		"downtime_receiver_dead_letters":                              "1",
		`downtime_receiver_messages_failed_total{reason="forbidden"}`: "1",
		`downtime_receiver_messages_sent_total{kind="firing"}`:        "1",
		"downtime_receiver_queue_depth":                               "0",
		`downtime_receiver_webhook_requests_total{code="200"}`:        "2",
		"downtime_receiver_notifications_received_total":              "2",
	} {
		if got := metric(t, r.url, series); got != want {
			t.Errorf("%s: got %q, want %s", series, got, want)
		}
	}
	m := get(t, r.url+"/metrics")
	if !strings.Contains(m, "downtime_receiver_build_info{") {
		t.Errorf("metrics: no downtime_receiver_build_info")
	}
	checkNoSecret(t, "metrics", m)
}

func TestBurstIsGroupedAndPaced(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken) // Telegram's default flood limits
	r := startReceiver(t, newOptions(t, writeConfig(t, "4242", ""), t.TempDir(), tg.URL))
	start := time.Now().Add(-2 * time.Minute)
	var alerts []string
	for g := range 3 { // three notification groups of 100 alerts
		var batch []template.Alert
		for i := range 100 {
			batch = append(batch, hostAlert("firing", fmt.Sprintf("host-%d-%03d", g, i), start))
		}
		alerts = append(alerts, body("firing", batch...))
	}
	for _, p := range alerts {
		mustPost(t, r.url+"/webhook", p)
	}
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) && metric(t, r.url, "downtime_receiver_queue_depth") != "0" {
		time.Sleep(100 * time.Millisecond)
	}
	msgs := tg.Messages()
	all := ""
	for _, m := range msgs {
		all += m.Plain + "\n"
	}
	for g := range 3 {
		for i := range 100 {
			if h := fmt.Sprintf("host-%d-%03d", g, i); !strings.Contains(all, h) {
				t.Fatalf("alert %s never delivered (%d messages)", h, len(msgs))
			}
		}
	}
	if n := tg.TooManyRequests(); n != 0 {
		t.Errorf("429 answers: got %d, want 0", n)
	}
	t.Logf("300 alerts in %d messages", len(msgs))
}

// Two alerts in one firing message recover one after the other: each
// resolved reply goes to that message, and each edit re-renders both alerts
// (the first edit still shows the other host down).
func TestGroupedMessagePartialResolve(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	r := startReceiver(t, newOptions(t, writeConfig(t, "4242", ""), t.TempDir(), tg.URL))
	start := time.Now().Add(-3 * time.Minute)
	a, b := hostAlert("firing", "alpha", start), hostAlert("firing", "beta", start)
	mustPost(t, r.url+"/webhook", body("firing", a, b))
	msgs := tg.WaitMessages(t, 1, 5*time.Second)
	if !strings.Contains(msgs[0].Plain, "alpha") || !strings.Contains(msgs[0].Plain, "beta") {
		t.Fatalf("firing: got %q, want both hosts in one message", msgs[0].Plain)
	}
	ra := hostAlert("resolved", "alpha", start)
	mustPost(t, r.url+"/webhook", body("firing", ra, b))
	edits := tg.WaitEdits(t, 1, 5*time.Second)
	if e := edits[0].Plain; strings.Count(e, "resolved after") != 1 || !strings.Contains(e, "🔴 beta is down") {
		t.Errorf("first edit: got %q, want alpha resolved and beta still down", e)
	}
	rb := hostAlert("resolved", "beta", start)
	mustPost(t, r.url+"/webhook", body("resolved", ra, rb))
	msgs = tg.WaitMessages(t, 3, 5*time.Second)
	edits = tg.WaitEdits(t, 2, 5*time.Second)
	for i, m := range msgs[1:] {
		if m.ReplyTo != msgs[0].MessageID {
			t.Errorf("resolved %d: got reply to %d, want %d", i, m.ReplyTo, msgs[0].MessageID)
		}
	}
	if e := edits[1].Plain; strings.Contains(e, "🔴") || strings.Count(e, "resolved after") != 2 {
		t.Errorf("second edit: got %q, want both resolved", e)
	}
}

// A user template that fails at execution falls back to the built-in one.
func TestBrokenTemplateFallsBack(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	cfg := writeConfig(t, "4242", "templates:\n  firing: '{{ .NoSuchField }}'\n")
	r := startReceiver(t, newOptions(t, cfg, t.TempDir(), tg.URL))
	mustPost(t, r.url+"/webhook", body("firing", hostAlert("firing", "web1", time.Now())))
	msgs := tg.WaitMessages(t, 1, 5*time.Second)
	if !strings.Contains(msgs[0].Plain, "web1 is down") {
		t.Errorf("got %q, want the built-in firing message", msgs[0].Plain)
	}
	if !strings.Contains(r.logs.String(), "template failed") {
		t.Errorf("no log line about the failed template")
	}
}

// Alerts of one notification go to the chat (and forum topic) of the first
// route whose matchers match, the rest to the default chat; /webhook/{route}
// forces a route.
func TestRoutingByLabels(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	tg.SetForum("4343", 9) // a private chat with topics
	cfg := writeConfig(t, "4242", "routes:\n  - name: db\n    matchers: ['instance=~\"db.*\"']\n    chat_id: \"4343\"\n    message_thread_id: 9\n")
	r := startReceiver(t, newOptions(t, cfg, t.TempDir(), tg.URL))
	now := time.Now()
	mustPost(t, r.url+"/webhook", body("firing", hostAlert("firing", "db1", now), hostAlert("firing", "web1", now)))
	mustPost(t, r.url+"/webhook/db", body("firing", hostAlert("firing", "app1", now)))
	tg.WaitMessages(t, 3, 10*time.Second)
	got := map[string]string{}
	for _, m := range tg.Messages() {
		got[strings.Fields(m.Plain)[1]] = fmt.Sprintf("%s/%d", m.ChatID, m.ThreadID)
	}
	for host, want := range map[string]string{"db1": "4343/9", "web1": "4242/0", "app1": "4343/9"} {
		if got[host] != want {
			t.Errorf("%s: got chat/thread %q, want %q", host, got[host], want)
		}
	}
}
