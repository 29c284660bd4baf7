package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"github.com/downtime-detector/downtime/receiver/alertmanager"
	"github.com/downtime-detector/downtime/receiver/alertmanager/amtest"
	"github.com/downtime-detector/downtime/receiver/alertmanager/reconcile"
	"github.com/downtime-detector/downtime/receiver/telegram"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

const chatID = "-100123"

var (
	alice = telegramtest.User{ID: 1111, Username: "alice_ops"}
	bob   = telegramtest.User{ID: 2222, Username: "bob_oncall"}
)

// callbackData returns the callback_data of the button whose text contains
// text in a message's markup, failing the test when there is none.
func callbackData(t *testing.T, markup, text string) string {
	t.Helper()
	var m struct {
		InlineKeyboard [][]struct {
			Text         string `json:"text"`
			CallbackData string `json:"callback_data"`
		} `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(markup), &m); err != nil {
		t.Fatalf("markup %q: %v", markup, err)
	}
	for _, row := range m.InlineKeyboard {
		for _, b := range row {
			if strings.Contains(b.Text, text) && b.CallbackData != "" {
				return b.CallbackData
			}
		}
	}
	t.Fatalf("no %q button in %s", text, markup)
	return ""
}

// settableClock is a now func tests move.
type settableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settableClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *settableClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Acknowledge from the chat: the press is answered, the message edited
// with who acknowledged and an Unack button, no more reminders, and the
// recovery still reported.
func TestAckStopsRemindersKeepsRecovery(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	clk := &settableClock{t: time.Now()}
	opts := newOptions(t, writeConfig(t, chatID, ""), t.TempDir(), tg.URL)
	opts.now = clk.Now
	r := startReceiver(t, opts)
	start := clk.Now()
	mustPost(t, r.url+"/webhook", body("firing", hostAlert("firing", "db1", start)))
	firing := tg.WaitMessages(t, 1, 5*time.Second)[0]
	settle(t, r.url)
	if !strings.Contains(firing.Markup, "✅ Ack") || strings.Contains(firing.Markup, "1h") {
		t.Fatalf("firing keyboard without Alertmanager: got %s, want Ack and no silence buttons", firing.Markup)
	}
	tg.AddCallback(telegramtest.Press{From: alice, ChatID: chatID, MessageID: firing.MessageID,
		Data: callbackData(t, firing.Markup, "Ack")})
	if a := tg.WaitAnswers(t, 1, 10*time.Second); !strings.HasPrefix(a[0].Text, "Acknowledged") {
		t.Errorf("answer: got %q, want Acknowledged…", a[0].Text)
	}
	edit := tg.WaitEdits(t, 1, 5*time.Second)[0]
	if !strings.Contains(edit.Plain, "acknowledged by @alice_ops") || !strings.Contains(edit.Markup, "Unack") {
		t.Errorf("edit after ack: got %q with %s, want the note and an Unack button", edit.Plain, edit.Markup)
	}
	// Alertmanager repeats the notification two hours later: every reminder
	// is due, none is queued.
	clk.Set(start.Add(2 * time.Hour))
	mustPost(t, r.url+"/webhook", body("firing", hostAlert("firing", "db1", start)))
	if got := metric(t, r.url, `downtime_receiver_messages_queued_total{kind="reminder"}`); got != "0" {
		t.Errorf("reminders queued after an ack: got %q, want 0", got)
	}
	mustPost(t, r.url+"/webhook", body("resolved", hostAlert("resolved", "db1", start)))
	msgs := tg.WaitMessages(t, 2, 5*time.Second)
	if !strings.Contains(msgs[1].Plain, "up after") || msgs[1].ReplyTo != firing.MessageID {
		t.Errorf("recovery: got %q replying to %d, want the resolved reply to %d", msgs[1].Plain, msgs[1].ReplyTo, firing.MessageID)
	}
	if got := metric(t, r.url, `downtime_receiver_chat_actions_total{action="ack",result="ok"}`); got != "1" {
		t.Errorf("chat_actions_total{ack,ok}: got %q, want 1", got)
	}
	// The incident log remembers who acknowledged it (status page, API, CLI).
	if got := get(t, r.url+"/api/v1/incidents"); !strings.Contains(got, `"acknowledged_by":"@alice_ops"`) {
		t.Errorf("/api/v1/incidents: got %s, want the incident acknowledged by @alice_ops", got)
	}
}

// Bad presses each get a clear answer, a log line and change nothing.
func TestBadPresses(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	cfg := "routes:\n  - name: ops\n    receiver: telegram\n    chat_id: \"" + chatID + "\"\n    allowed_users: [\"@alice_ops\"]\n"
	opts := newOptions(t, writeConfig(t, chatID, cfg), t.TempDir(), tg.URL)
	r := startReceiver(t, opts)
	mustPost(t, r.url+"/webhook", body("firing", hostAlert("firing", "db1", time.Now())))
	firing := tg.WaitMessages(t, 1, 5*time.Second)[0]
	ack := callbackData(t, firing.Markup, "Ack")
	key := ack[strings.LastIndex(ack, ":")+1:]
	for _, tc := range []struct {
		name   string
		press  telegramtest.Press
		answer string
		metric string
	}{
		{"forged key", telegramtest.Press{From: alice, ChatID: chatID, MessageID: firing.MessageID, Data: "d1:ack:AAAAAAAAAAAAAAAAAAAAAA"},
			"This button is no longer valid; use /status.", `{action="ack",result="stale"}`},
		{"garbage", telegramtest.Press{From: alice, ChatID: chatID, MessageID: firing.MessageID, Data: "rm -rf /"},
			"This button is not valid.", `{action="unknown",result="invalid"}`},
		{"older version", telegramtest.Press{From: alice, ChatID: chatID, MessageID: firing.MessageID, Data: "d0:ack:" + key},
			"This button is no longer valid; use /status.", `{action="unknown",result="stale"}`},
		{"user not allowed", telegramtest.Press{From: bob, ChatID: chatID, MessageID: firing.MessageID, Data: ack},
			"Not allowed: you are not on this route's allowed_users.", `{action="ack",result="not_allowed"}`},
		{"message from another chat", telegramtest.Press{From: alice, ChatID: "-100999", MessageID: 1, Data: ack},
			"Not allowed: this button belongs to another chat.", `{action="ack",result="not_allowed"}`},
		{"silence without alertmanager", telegramtest.Press{From: alice, ChatID: chatID, MessageID: firing.MessageID, Data: "d1:s1h:" + key},
			"Silencing needs an Alertmanager URL in the receiver's configuration.", `{action="s1h",result="failed"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := len(tg.Answers())
			tg.AddCallback(tc.press)
			if a := tg.WaitAnswers(t, n+1, 10*time.Second); a[n].Text != tc.answer {
				t.Errorf("answer: got %q, want %q", a[n].Text, tc.answer)
			}
			if got := metric(t, r.url, "downtime_receiver_chat_actions_total"+tc.metric); got == "0" || got == "" {
				t.Errorf("chat_actions_total%s: got %q, want > 0", tc.metric, got)
			}
		})
	}
	if e := tg.Edits(); len(e) != 0 {
		t.Errorf("edits after refused presses: got %d, want none", len(e))
	}
	if !strings.Contains(r.logs.String(), `msg="chat action"`) {
		t.Errorf("no chat action log line")
	}
}

// Commands are answered in the chat and topic where they were asked;
// setMyCommands registers them.
func TestCommands(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	tg.SetForum(chatID, 7)
	r := startReceiver(t, newOptions(t, writeConfig(t, chatID, ""), t.TempDir(), tg.URL))
	mustPost(t, r.url+"/webhook", body("firing", hostAlert("firing", "db1", time.Now().Add(-5*time.Minute))))
	tg.WaitMessages(t, 1, 5*time.Second)
	settle(t, r.url) // the firing message is recorded
	tg.AddCommand(alice, chatID, 7, "/status@"+telegramtest.BotUsername)
	tg.AddCommand(alice, chatID, 0, "/status@other_bot") // not for us
	tg.AddCommand(alice, chatID, 0, "/help")
	msgs := tg.WaitMessages(t, 3, 10*time.Second)
	if m := msgs[1]; m.ThreadID != 7 || !strings.Contains(m.Plain, "db1") {
		t.Errorf("/status: got %q in topic %d, want db1 in topic 7", m.Plain, m.ThreadID)
	}
	if m := msgs[2]; m.ThreadID != 0 || !strings.Contains(m.Plain, "/status") {
		t.Errorf("/help: got %q in topic %d, want the command list", m.Plain, m.ThreadID)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(tg.Commands()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := strings.Join(tg.Commands(), ","); got != "status,silences,help" {
		t.Errorf("setMyCommands: got %q, want status,silences,help", got)
	}
	// Answers are paced with the queued messages: a burst of commands in a
	// group gets its answers without one 429 from Telegram.
	for range 4 {
		tg.AddCommand(alice, chatID, 0, "/help")
	}
	tg.WaitMessages(t, 7, 20*time.Second)
	if n := tg.TooManyRequests(); n != 0 {
		t.Errorf("answers to a burst of commands: got %d answers 429, want 0 (paced)", n)
	}
}

// An update is handled once, across a restart: the offset is stored.
func TestUpdatesNotHandledTwiceAcrossRestart(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	dir, cfg := t.TempDir(), writeConfig(t, chatID, "")
	r := startReceiver(t, newOptions(t, cfg, dir, tg.URL))
	tg.AddCommand(alice, chatID, 0, "/help")
	tg.WaitMessages(t, 1, 10*time.Second)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	// The fake keeps the update until an offset confirms it: a receiver
	// that forgot the offset would answer /help again.
	startReceiver(t, newOptions(t, cfg, dir, tg.URL))
	tg.AddCommand(alice, chatID, 0, "/status")
	msgs := tg.WaitMessages(t, 2, 10*time.Second)
	if !strings.Contains(msgs[1].Plain, "Nothing") && strings.Contains(msgs[1].Plain, "/help") {
		t.Errorf("after restart: got %q, want the /status answer", msgs[1].Plain)
	}
	time.Sleep(200 * time.Millisecond) // a duplicate would come right after
	if n := len(tg.Messages()); n != 2 {
		t.Errorf("messages: got %d, want 2 (each command answered once)", n)
	}
}

// A 409 (another poller) is logged once and backed off.
func TestConflictLoggedOnce(t *testing.T) {
	var logs syncBuffer
	p := &poller{logger: slog.New(slog.NewTextHandler(&logs, nil))}
	conflict := &telegram.Error{Code: 409, Method: "getUpdates", Description: "Conflict: terminated by other getUpdates request"}
	for range 3 {
		p.failed(conflict, time.Second)
	}
	if n := strings.Count(logs.String(), "another getUpdates poller"); n != 1 {
		t.Errorf("409 log lines: got %d, want 1", n)
	}
	p.failed(errors.New("connection refused"), time.Second)
	if !strings.Contains(logs.String(), "reading Telegram updates failed") {
		t.Errorf("other errors: not logged")
	}
}

// startWithAlertmanager starts Debian's real Alertmanager and a receiver
// that uses it, reconciling every second with no restart grace (the
// Alertmanager is fresh) and no early "lost" verdicts.
func startWithAlertmanager(t *testing.T) (*url.URL, *telegramtest.Server, *receiver) {
	t.Helper()
	amURL := amtest.Start(t)
	tg := telegramtest.NewServer(t, testToken)
	extra := "alertmanager:\n  urls: [\"" + amURL.String() + "\"]\n  reconcile_interval: 1s\n"
	opts := newOptions(t, writeConfig(t, chatID, extra), t.TempDir(), tg.URL)
	opts.reconcile = &reconcile.Options{RestartGrace: time.Nanosecond, LostGrace: time.Hour}
	return amURL, tg, startReceiver(t, opts)
}

// With Debian's real Alertmanager: a press creates exactly one silence with
// the identifying matchers and the user as createdBy; the host recovers
// while silenced (Alertmanager sends no resolved webhook) and the chat
// still gets the recovery, from the reconciler.
func TestSilenceAndRecoveryWithRealAlertmanager(t *testing.T) {
	t.Parallel()
	amURL, tg, r := startWithAlertmanager(t)

	labels := map[string]string{"alertname": "HostDown", "target": "db1.example.lan", "job": "ping", "severity": "page"}
	start := time.Now().Add(-3 * time.Minute).Truncate(time.Second)
	amtest.PostAlert(t, amURL, labels, start, time.Time{})
	a := template.Alert{Status: "firing", Labels: labels, StartsAt: start,
		Fingerprint: toModel(labels).Fingerprint().String(), GeneratorURL: "http://prometheus.example/graph"}
	mustPost(t, r.url+"/webhook", body("firing", a))
	firing := tg.WaitMessages(t, 1, 5*time.Second)[0]
	settle(t, r.url)
	tg.AddCallback(telegramtest.Press{From: alice, ChatID: chatID, MessageID: firing.MessageID,
		Data: callbackData(t, firing.Markup, "1h")})
	if ans := tg.WaitAnswers(t, 1, 10*time.Second); !strings.HasPrefix(ans[0].Text, "Silenced until") {
		t.Fatalf("answer: got %q, want Silenced until…", ans[0].Text)
	}
	client, err := alertmanager.New(alertmanager.Config{URLs: []*url.URL{amURL}, Timeout: 5 * time.Second}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sils, err := client.ListSilences(context.Background())
	if err != nil || len(sils) != 1 {
		t.Fatalf("silences: got %d, %v, want exactly 1", len(sils), err)
	}
	var ms []string
	for _, m := range sils[0].Matchers {
		ms = append(ms, m.String())
	}
	sort.Strings(ms)
	if got, want := strings.Join(ms, ","), `alertname="HostDown",job="ping",target="db1.example.lan"`; got != want || sils[0].CreatedBy != "@alice_ops (Telegram)" {
		t.Errorf("silence: got matchers %s by %q, want %s by @alice_ops (Telegram)", got, sils[0].CreatedBy, want)
	}
	edit := tg.WaitEdits(t, 1, 5*time.Second)[0]
	if !strings.Contains(edit.Plain, "silenced by @alice_ops") || !strings.Contains(edit.Markup, "Unsilence") {
		t.Errorf("edit after silence: got %q with %s", edit.Plain, edit.Markup)
	}
	// /silences lists it with an Unsilence button (checked, not pressed:
	// the alert must stay silenced below).
	tg.AddCommand(alice, chatID, 0, "/silences")
	list := tg.WaitMessages(t, 2, 10*time.Second)[1]
	if !strings.Contains(list.Plain, `target="db1.example.lan"`) || !strings.Contains(list.Markup, "Unsilence") {
		t.Errorf("/silences: got %q with %s, want the silence and an Unsilence button", list.Plain, list.Markup)
	}
	// Let a reconcile round see the alert silenced in Alertmanager (an
	// alert last seen active gets LostGrace for its resolved webhook).
	runs := func() int {
		n, _ := strconv.Atoi(metric(t, r.url, "downtime_receiver_reconcile_runs_total"))
		return n
	}
	for n := runs(); runs() < n+2; {
		time.Sleep(100 * time.Millisecond)
	}
	// The host recovers: Prometheus sends the alert with endsAt now.
	// Alertmanager sends nothing (it is silenced); the reconciler reports it.
	recovered := time.Now()
	amtest.PostAlert(t, amURL, labels, start, recovered)
	if !tgWait(tg, 3, 60*time.Second) {
		t.Fatalf("no recovery within 60 s; logs:\n%s", r.logs.String())
	}
	msgs := tg.Messages()
	if !strings.Contains(msgs[2].Plain, "up after") || msgs[2].ReplyTo != firing.MessageID {
		t.Errorf("recovery: got %q replying to %d, want the resolved reply to %d", msgs[2].Plain, msgs[2].ReplyTo, firing.MessageID)
	}
	t.Logf("recovery of a silenced alert reported %s after it ended", msgs[2].At.Sub(recovered).Round(time.Millisecond))
	// A late resolved webhook (same alert) changes nothing more.
	a.Status, a.EndsAt = "resolved", recovered
	mustPost(t, r.url+"/webhook", body("resolved", a))
	settle(t, r.url)
	if n := len(tg.Messages()); n != 3 {
		t.Errorf("messages after a late resolved webhook: got %d, want 3", n)
	}
	// Unsilence from the /silences list expires the silence.
	tg.AddCallback(telegramtest.Press{From: alice, ChatID: chatID, MessageID: list.MessageID,
		Data: callbackData(t, list.Markup, "Unsilence")})
	if ans := tg.WaitAnswers(t, 2, 10*time.Second); ans[1].Text != "Unsilenced." {
		t.Errorf("unsilence answer: got %q, want Unsilenced.", ans[1].Text)
	}
	sils, err = client.ListSilences(context.Background())
	for _, s := range sils {
		if s.State == "active" {
			t.Errorf("after Unsilence: silence %s still active", s.ID)
		}
	}
	if err != nil {
		t.Errorf("listing silences: %v", err)
	}
}

func toModel(m map[string]string) model.LabelSet {
	ls := model.LabelSet{}
	for k, v := range m {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls
}

// tgWait waits for n messages without failing the test.
func tgWait(tg *telegramtest.Server, n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if len(tg.Messages()) >= n {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// Alertmanager down, or answering 4xx/5xx, at the press: a clear answer,
// a log line, nothing silenced, the buttons unchanged.
func TestSilenceWhenAlertmanagerFails(t *testing.T) {
	t.Parallel()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "silences") {
			http.Error(w, "bad matchers", http.StatusBadRequest)
			return
		}
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	for _, tc := range []struct{ name, url, want string }{
		{"down", "http://" + amtest.FreeAddr(t), "Not silenced: alertmanager http://127.0.0.1"},
		{"4xx", failing.URL, "Not silenced: alertmanager " + failing.URL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := telegramtest.NewServer(t, testToken)
			extra := "alertmanager:\n  urls: [\"" + tc.url + "\"]\n  timeout: 2s\n"
			r := startReceiver(t, newOptions(t, writeConfig(t, chatID, extra), t.TempDir(), tg.URL))
			mustPost(t, r.url+"/webhook", body("firing", hostAlert("firing", "db1", time.Now())))
			firing := tg.WaitMessages(t, 1, 5*time.Second)[0]
			settle(t, r.url)
			tg.AddCallback(telegramtest.Press{From: alice, ChatID: chatID, MessageID: firing.MessageID,
				Data: callbackData(t, firing.Markup, "1h")})
			a := tg.WaitAnswers(t, 1, 15*time.Second)[0]
			if !strings.HasPrefix(a.Text, tc.want) {
				t.Errorf("answer: got %q, want %q…", a.Text, tc.want)
			}
			if strings.Contains(a.Text, "HTTP 400") != (tc.name == "4xx") {
				t.Errorf("answer: got %q, want the HTTP status when Alertmanager answered", a.Text)
			}
			if got := metric(t, r.url, `downtime_receiver_chat_actions_total{action="s1h",result="failed"}`); got != "1" {
				t.Errorf("chat_actions_total{s1h,failed}: got %q, want 1", got)
			}
			if !strings.Contains(r.logs.String(), `msg="silence failed"`) {
				t.Errorf("no log line for the failed silence")
			}
			if len(tg.Edits()) != 0 || tg.Markup(chatID, firing.MessageID) != firing.Markup {
				t.Errorf("the message changed after a failed silence")
			}
		})
	}
}

// Webhook mode: Telegram's POSTs are accepted only with the secret token,
// and a redelivered update is handled once.
func TestTelegramWebhookMode(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	extra := "chat:\n  updates: webhook\n  webhook_secret_token: s3cret-Token_1\n"
	r := startReceiver(t, newOptions(t, writeConfig(t, chatID, extra), t.TempDir(), tg.URL))
	update := `{"update_id": 500, "message": {"message_id": 9, "date": 1, "chat": {"id": -100123, "type": "supergroup"},
		"from": {"id": 1111, "is_bot": false, "first_name": "A", "username": "alice_ops"}, "text": "/help"}}`
	if code, _ := post(t, r.url+"/telegram/updates", update); code != http.StatusForbidden {
		t.Errorf("without the secret token: got %d, want 403", code)
	}
	if code, _ := post(t, r.url+"/telegram/updates", update, "X-Telegram-Bot-Api-Secret-Token", "wrong"); code != http.StatusForbidden {
		t.Errorf("with a wrong secret token: got %d, want 403", code)
	}
	for range 2 { // Telegram redelivers when unsure
		if code, _ := post(t, r.url+"/telegram/updates", update, "X-Telegram-Bot-Api-Secret-Token", "s3cret-Token_1"); code != 200 {
			t.Fatalf("with the secret token: got %d, want 200", code)
		}
	}
	msgs := tg.WaitMessages(t, 1, 5*time.Second)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Plain, "/status") {
		t.Errorf("answers: got %d (%q), want one /help answer", len(msgs), msgs[0].Plain)
	}
	if tg.Calls("getUpdates") != 0 {
		t.Errorf("getUpdates called %d times in webhook mode, want 0", tg.Calls("getUpdates"))
	}
	if strings.Contains(r.logs.String(), "s3cret-Token_1") {
		t.Errorf("logs contain the webhook secret token")
	}
}

// An alert that fired and was then inhibited in Alertmanager (its exporter
// went down) and resolved meanwhile still gets its recovery.
func TestInhibitedAlertRecovery(t *testing.T) {
	t.Parallel()
	amURL, tg, r := startWithAlertmanager(t)
	labels := map[string]string{"alertname": "HostDown", "target": "web1.example.lan", "job": "ping"}
	start := time.Now().Add(-2 * time.Minute).Truncate(time.Second)
	amtest.PostAlert(t, amURL, labels, start, time.Time{})
	mustPost(t, r.url+"/webhook", body("firing", template.Alert{Status: "firing", Labels: labels, StartsAt: start,
		Fingerprint: toModel(labels).Fingerprint().String()}))
	firing := tg.WaitMessages(t, 1, 5*time.Second)[0]
	amtest.PostAlert(t, amURL, map[string]string{"alertname": "ExporterDown", "job": "ping"}, time.Now(), time.Time{})
	runs := func() int {
		n, _ := strconv.Atoi(metric(t, r.url, "downtime_receiver_reconcile_runs_total"))
		return n
	}
	for n := runs(); runs() < n+2; {
		time.Sleep(100 * time.Millisecond)
	}
	amtest.PostAlert(t, amURL, labels, start, time.Now())
	if !tgWait(tg, 2, 60*time.Second) {
		t.Fatalf("no recovery of the inhibited alert within 60 s")
	}
	if m := tg.Messages()[1]; !strings.Contains(m.Plain, "up after") || m.ReplyTo != firing.MessageID {
		t.Errorf("recovery: got %q replying to %d, want the resolved reply to %d", m.Plain, m.ReplyTo, firing.MessageID)
	}
	if got := metric(t, r.url, `downtime_receiver_reconcile_resolved_total{reason="suppressed"}`); got != "1" {
		t.Errorf("reconcile_resolved_total{suppressed}: got %q, want 1", got)
	}
}

// A second poller on the same bot: the receiver gets 409s, logs the
// conflict and backs off instead of spinning, and serves again once the
// other one stops.
func TestSecondPollerBackoff(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	r := startReceiver(t, newOptions(t, writeConfig(t, chatID, ""), t.TempDir(), tg.URL))
	other, err := telegram.New(testToken, tg.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for tg.Calls("getUpdates") == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	stop := time.Now().Add(3 * time.Second)
	for time.Now().Before(stop) {
		if _, err := other.GetUpdates(context.Background(), 0, time.Second); err != nil {
			time.Sleep(300 * time.Millisecond)
		}
	}
	if tg.Conflicts() == 0 {
		t.Fatalf("no 409 conflicts: the test did not compete")
	}
	if n := tg.Calls("getUpdates"); n > 40 {
		t.Errorf("getUpdates calls in 3 s of conflict: got %d, want a backoff (at most 40)", n)
	}
	if !strings.Contains(r.logs.String(), "another getUpdates poller") {
		t.Errorf("409 not logged")
	}
	// The other poller is gone: commands are answered again.
	tg.AddCommand(alice, chatID, 0, "/help")
	tg.WaitMessages(t, 1, 70*time.Second)
}
