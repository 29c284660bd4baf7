package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/internal/pgtest"
	"github.com/downtime-detector/downtime/receiver/alertmanager"
	"github.com/downtime-detector/downtime/receiver/alertmanager/amtest"
	"github.com/downtime-detector/downtime/receiver/alertmanager/reconcile"
	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/telegram"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

// patience bounds every wait of these tests: generous, as CI runs them on
// two loaded cores; a pass takes a second or two.
const patience = time.Minute

// waitUntil polls cond until it holds or patience runs out.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, patience)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// silenceCount is how many silences an Alertmanager holds, any state.
func silenceCount(t *testing.T, u *url.URL) int {
	t.Helper()
	c, err := alertmanager.New(alertmanager.Config{URLs: []*url.URL{u}, Timeout: 30 * time.Second}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sils, err := c.ListSilences(context.Background())
	if err != nil {
		t.Fatalf("listing silences of %s: %v", u, err)
	}
	return len(sils)
}

// pressSilence sends the firing alert of host, presses its 🔕 1h button
// and waits for the answer (the n-th); it returns the answer's text.
func pressSilence(t *testing.T, r *receiver, tg *telegramtest.Server, host string, n int) string {
	t.Helper()
	labels := map[string]string{"alertname": "HostDown", "target": host, "job": "ping"}
	a := template.Alert{Status: "firing", Labels: labels, StartsAt: time.Now().Add(-time.Minute).Truncate(time.Second),
		Fingerprint: toModel(labels).Fingerprint().String()}
	mustPost(t, r.url+"/webhook", body("firing", a))
	msgs := tg.WaitMessages(t, n, patience)
	firing := msgs[n-1]
	settle(t, r.url)
	tg.AddCallback(telegramtest.Press{From: alice, ChatID: chatID, MessageID: firing.MessageID,
		Data: callbackData(t, firing.Markup, "1h")})
	return tg.WaitAnswers(t, n, patience)[n-1].Text
}

// A reload that changes alertmanager.urls applies to the next press: the
// silence is made on the new Alertmanager. A bad reload keeps the old one.
func TestReloadChangesAlertmanager(t *testing.T) {
	t.Parallel()
	amA, amB := amtest.Start(t), amtest.Start(t)
	tg := telegramtest.NewServer(t, testToken)
	amSection := func(u string) string { return "alertmanager:\n  urls: [\"" + u + "\"]\n" }
	path := writeConfig(t, chatID, amSection(amA.String()))
	r := startReceiver(t, newOptions(t, path, t.TempDir(), tg.URL))

	rewriteConfig(t, path, chatID, amSection("ftp://127.0.0.1:1"))
	if code, resp := postReload(t, r.url); code != http.StatusInternalServerError || !strings.Contains(resp, "scheme must be http or https") {
		t.Errorf("bad reload: got %d %q, want 500 naming the bad URL", code, resp)
	}
	if got := metric(t, r.url, reloadOK); got != "0" {
		t.Errorf("%s after a bad reload: got %q, want 0", reloadOK, got)
	}
	if ans := pressSilence(t, r, tg, "db1.example.lan", 1); !strings.HasPrefix(ans, "Silenced until") {
		t.Fatalf("press after a bad reload: got %q, want Silenced until…", ans)
	}
	if a, b := silenceCount(t, amA), silenceCount(t, amB); a != 1 || b != 0 {
		t.Fatalf("after a bad reload: got %d silence(s) on the old Alertmanager and %d on the new, want 1 and 0", a, b)
	}

	rewriteConfig(t, path, chatID, amSection(amB.String()))
	if code, resp := postReload(t, r.url); code != http.StatusOK {
		t.Fatalf("reload to the new Alertmanager: got %d %q, want 200", code, resp)
	}
	if ans := pressSilence(t, r, tg, "db2.example.lan", 2); !strings.HasPrefix(ans, "Silenced until") {
		t.Fatalf("press after the reload: got %q, want Silenced until…", ans)
	}
	if a, b := silenceCount(t, amA), silenceCount(t, amB); a != 1 || b != 1 {
		t.Errorf("after the reload: got %d silence(s) on the old Alertmanager and %d on the new, want 1 and 1", a, b)
	}
	// The client's metrics go on across the rebuild (registered once).
	if got := metric(t, r.url, `downtime_receiver_alertmanager_requests_total{operation="create_silence"}`); got != "2" {
		t.Errorf("create_silence requests: got %q, want 2", got)
	}

	// Without the section the buttons answer that silencing needs a URL.
	rewriteConfig(t, path, chatID, "")
	if code, resp := postReload(t, r.url); code != http.StatusOK {
		t.Fatalf("reload without Alertmanager: got %d %q, want 200", code, resp)
	}
	tg.AddCommand(alice, chatID, 0, "/silences")
	msgs := tg.WaitMessages(t, 3, patience)
	if !strings.Contains(msgs[2].Plain, "need an Alertmanager URL") {
		t.Errorf("/silences without Alertmanager: got %q, want it to say a URL is needed", msgs[2].Plain)
	}
	checkNoSecret(t, "logs", r.logs.String())
}

// Reloads switch chat.updates: polling stops and setWebhook is called
// (URL, secret token, allowed updates) when it becomes webhook, and the
// webhook is deleted and polling resumes when it becomes poll again. A bad
// reload keeps polling.
func TestReloadSwitchesUpdatesMode(t *testing.T) {
	t.Parallel()
	const secret = "Wh-Secret_9"
	hook := "http://127.0.0.1:9/telegram/updates" // never called: the fake does not deliver
	tg := telegramtest.NewServer(t, testToken)
	pollCfg := "chat:\n  updates: poll\n  webhook_url: " + hook + "\n"
	hookCfg := "chat:\n  updates: webhook\n  webhook_url: " + hook + "\n  webhook_secret_token: " + secret + "\n"
	path := writeConfig(t, chatID, pollCfg)
	r := startReceiver(t, newOptions(t, path, t.TempDir(), tg.URL))

	tg.AddCommand(alice, chatID, 0, "/help")
	tg.WaitMessages(t, 1, patience)

	// webhook without its secret: refused, polling goes on.
	rewriteConfig(t, path, chatID, "chat:\n  updates: webhook\n")
	if code, _ := postReload(t, r.url); code != http.StatusInternalServerError {
		t.Errorf("reload to webhook without a secret: got %d, want 500", code)
	}
	tg.AddCommand(alice, chatID, 0, "/help")
	tg.WaitMessages(t, 2, patience)
	if w := tg.Webhook(); w != nil {
		t.Fatalf("after a bad reload: got webhook %+v, want none", *w)
	}

	rewriteConfig(t, path, chatID, hookCfg)
	if code, resp := postReload(t, r.url); code != http.StatusOK {
		t.Fatalf("reload to webhook mode: got %d %q, want 200", code, resp)
	}
	waitUntil(t, "setWebhook after the switch", func() bool { return tg.Webhook() != nil })
	w := tg.Webhook()
	if w.URL != hook || w.SecretToken != secret || strings.Join(w.AllowedUpdates, ",") != "message,callback_query" {
		t.Errorf("webhook: got %+v, want %s with the secret and [message callback_query]", *w, hook)
	}
	polls := tg.Calls("getUpdates")
	tg.AddCommand(alice, chatID, 0, "/help")
	ups := tg.TakeUpdates() // what Telegram would POST to the webhook
	if len(ups) != 1 {
		t.Fatalf("updates for the webhook: got %d, want 1", len(ups))
	}
	update := string(ups[0])
	if code, _ := post(t, r.url+"/telegram/updates", update, "X-Telegram-Bot-Api-Secret-Token", secret); code != http.StatusOK {
		t.Fatalf("update posted in webhook mode: got %d, want 200", code)
	}
	tg.WaitMessages(t, 3, patience)
	if got := tg.Calls("getUpdates"); got != polls {
		t.Errorf("getUpdates calls in webhook mode: got %d more, want none (the poller stopped)", got-polls)
	}

	// off deletes the receiver's webhook too (Telegram would keep POSTing).
	rewriteConfig(t, path, chatID, "chat:\n  updates: off\n  webhook_url: "+hook+"\n")
	if code, resp := postReload(t, r.url); code != http.StatusOK {
		t.Fatalf("reload to off: got %d %q, want 200", code, resp)
	}
	waitUntil(t, "deleteWebhook after the switch to off", func() bool { return tg.Webhook() == nil })
	tg.SetWebhookDirectly(telegramtest.Webhook{URL: hook, SecretToken: secret}) // as it was

	rewriteConfig(t, path, chatID, pollCfg)
	if code, resp := postReload(t, r.url); code != http.StatusOK {
		t.Fatalf("reload back to poll mode: got %d %q, want 200", code, resp)
	}
	waitUntil(t, "deleteWebhook after the switch back", func() bool { return tg.Webhook() == nil })
	tg.AddCommand(alice, chatID, 0, "/help")
	tg.WaitMessages(t, 4, patience)
	if code, _ := post(t, r.url+"/telegram/updates", update, "X-Telegram-Bot-Api-Secret-Token", secret); code != http.StatusNotFound {
		t.Errorf("update posted in poll mode: got %d, want 404", code)
	}
	if strings.Contains(r.logs.String(), "another getUpdates poller or a webhook") {
		t.Errorf("logs: got a 409 warning, want none (the switches stop one way before starting the other):\n%s", r.logs.String())
	}
	if strings.Contains(r.logs.String(), secret) {
		t.Errorf("logs contain the webhook secret token")
	}
	checkNoSecret(t, "logs", r.logs.String())
}

// Started in webhook mode with webhook_url, the receiver sets the webhook
// itself, once.
func TestWebhookSetAtStart(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	extra := "chat:\n  updates: webhook\n  webhook_url: https://127.0.0.1:8443/telegram/updates\n  webhook_secret_token: s3cret-Token_1\n"
	r := startReceiver(t, newOptions(t, writeConfig(t, chatID, extra), t.TempDir(), tg.URL))
	waitUntil(t, "setWebhook at start", func() bool { return tg.Webhook() != nil })
	if w := tg.Webhook(); w.URL != "https://127.0.0.1:8443/telegram/updates" || w.SecretToken != "s3cret-Token_1" {
		t.Errorf("webhook: got %+v, want the configured URL and secret", *w)
	}
	// An unrelated reload does not set it again.
	if code, resp := postReload(t, r.url); code != http.StatusOK {
		t.Fatalf("reload: got %d %q, want 200", code, resp)
	}
	tg.AddCommand(alice, chatID, 0, "/help") // not delivered: a webhook is set
	if got := tg.Calls("setWebhook"); got != 1 {
		t.Errorf("setWebhook calls: got %d, want 1", got)
	}
	if got := tg.Calls("getUpdates"); got != 0 {
		t.Errorf("getUpdates calls in webhook mode: got %d, want 0", got)
	}
	if strings.Contains(r.logs.String(), "s3cret-Token_1") {
		t.Errorf("logs contain the webhook secret token")
	}
	checkNoSecret(t, "logs", r.logs.String())
}

// In poll mode a webhook someone else set (another URL) is not deleted:
// the 409 is logged once, as for a second poller.
func TestPollLeavesForeignWebhook(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	tg.SetWebhookDirectly(telegramtest.Webhook{URL: "https://127.0.0.1:8443/other-bot"})
	r := startReceiver(t, newOptions(t, writeConfig(t, chatID, ""), t.TempDir(), tg.URL))
	waitUntil(t, "the 409 warning", func() bool {
		return strings.Contains(r.logs.String(), "another getUpdates poller or a webhook")
	})
	if w := tg.Webhook(); w == nil || w.URL != "https://127.0.0.1:8443/other-bot" {
		t.Errorf("webhook: got %+v, want the other one kept", w)
	}
	if got := tg.Calls("deleteWebhook"); got != 0 {
		t.Errorf("deleteWebhook calls: got %d, want 0", got)
	}
}

// In poll mode, a webhook left at chat.webhook_url (the receiver ran in
// webhook mode before a restart) is deleted so that polling works.
func TestPollDeletesOwnWebhookAtStart(t *testing.T) {
	t.Parallel()
	hook := "https://127.0.0.1:8443/telegram/updates"
	tg := telegramtest.NewServer(t, testToken)
	tg.SetWebhookDirectly(telegramtest.Webhook{URL: hook, SecretToken: "x"})
	startReceiver(t, newOptions(t, writeConfig(t, chatID, "chat:\n  webhook_url: "+hook+"\n"), t.TempDir(), tg.URL))
	tg.AddCommand(alice, chatID, 0, "/help")
	tg.WaitMessages(t, 1, patience)
	if w := tg.Webhook(); w != nil {
		t.Errorf("webhook: got %+v, want it deleted", *w)
	}
}

// Two receivers on one PostgreSQL in webhook mode: only the holder of the
// "poller" lease calls setWebhook; when it stops, the other takes the
// lease over and sets the webhook again.
func TestWebhookSetByLeaseHolderOnly(t *testing.T) {
	dsn := pgtest.DB(t)
	tg := telegramtest.NewServer(t, testToken)
	extra := "chat:\n  updates: webhook\n  webhook_url: https://127.0.0.1:8443/telegram/updates\n  webhook_secret_token: s3cret-Token_1\n"
	cfg := writeConfig(t, chatID, extra)
	const poller = `downtime_receiver_leader{role="poller"}`
	var rs []*receiver
	for range 2 {
		opts := newOptions(t, cfg, "", tg.URL)
		opts.storage.url = dsn
		rs = append(rs, startReceiver(t, opts))
	}
	holder := -1
	waitUntil(t, "one receiver holding the poller lease and the webhook set", func() bool {
		holder = -1
		for i, r := range rs {
			if metric(t, r.url, poller) == "1" {
				if holder >= 0 {
					t.Fatal("both receivers hold the poller lease")
				}
				holder = i
			}
		}
		return holder >= 0 && tg.Webhook() != nil
	})
	if got := tg.Calls("setWebhook"); got != 1 {
		t.Errorf("setWebhook calls with one lease holder: got %d, want 1", got)
	}
	if err := rs[holder].stop(); err != nil {
		t.Fatal(err)
	}
	other := rs[1-holder]
	waitUntil(t, "the other receiver taking the lease over and setting the webhook", func() bool {
		return metric(t, other.url, poller) == "1" && tg.Calls("setWebhook") == 2
	})
}

// After a reload to another Alertmanager the reconciler asks the new one:
// an alert silenced there (by a press after the reload) that resolves gets
// its recovery in the chat although Alertmanager sends no resolved webhook.
func TestReloadReconcilesOnNewAlertmanager(t *testing.T) {
	t.Parallel()
	amA, amB := amtest.Start(t), amtest.Start(t)
	tg := telegramtest.NewServer(t, testToken)
	amSection := func(u string) string {
		return "alertmanager:\n  urls: [\"" + u + "\"]\n  reconcile_interval: 1s\n"
	}
	path := writeConfig(t, chatID, amSection(amA.String()))
	opts := newOptions(t, path, t.TempDir(), tg.URL)
	opts.reconcile = &reconcile.Options{RestartGrace: time.Nanosecond, LostGrace: time.Hour}
	r := startReceiver(t, opts)

	labels := map[string]string{"alertname": "HostDown", "target": "db3.example.lan", "job": "ping"}
	start := time.Now().Add(-2 * time.Minute).Truncate(time.Second)
	amtest.PostAlert(t, amB, labels, start, time.Time{}) // only the new Alertmanager knows it
	a := template.Alert{Status: "firing", Labels: labels, StartsAt: start, Fingerprint: toModel(labels).Fingerprint().String()}
	mustPost(t, r.url+"/webhook", body("firing", a))
	firing := tg.WaitMessages(t, 1, patience)[0]
	settle(t, r.url)

	rewriteConfig(t, path, chatID, amSection(amB.String()))
	if code, resp := postReload(t, r.url); code != http.StatusOK {
		t.Fatalf("reload: got %d %q, want 200", code, resp)
	}
	tg.AddCallback(telegramtest.Press{From: alice, ChatID: chatID, MessageID: firing.MessageID,
		Data: callbackData(t, firing.Markup, "1h")})
	if ans := tg.WaitAnswers(t, 1, patience)[0].Text; !strings.HasPrefix(ans, "Silenced until") {
		t.Fatalf("press after the reload: got %q, want Silenced until…", ans)
	}
	// Let two rounds see it silenced on the new Alertmanager.
	runs := func() int {
		n, _ := strconv.Atoi(metric(t, r.url, "downtime_receiver_reconcile_runs_total"))
		return n
	}
	n := runs()
	waitUntil(t, "two reconcile rounds", func() bool { return runs() >= n+2 })
	amtest.PostAlert(t, amB, labels, start, time.Now()) // the host recovers while silenced
	msgs := tg.WaitMessages(t, 2, patience)
	if !strings.Contains(msgs[1].Plain, "up after") || msgs[1].ReplyTo != firing.MessageID {
		t.Errorf("recovery: got %q replying to %d, want the resolved reply to %d", msgs[1].Plain, msgs[1].ReplyTo, firing.MessageID)
	}
}

// Webhook mode without webhook_url (the user set the webhook): a command
// addressed to the bot by name in a group is answered (the handler learns
// the bot's username with getMe).
func TestWebhookCommandAddressedToBot(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	extra := "chat:\n  updates: webhook\n  webhook_secret_token: s3cret-Token_1\n"
	r := startReceiver(t, newOptions(t, writeConfig(t, chatID, extra), t.TempDir(), tg.URL))
	update := `{"update_id": 7, "message": {"message_id": 9, "date": 1, "chat": {"id": -100123, "type": "supergroup"},
		"from": {"id": 1111, "is_bot": false, "first_name": "A", "username": "alice_ops"}, "text": "/help@` + telegramtest.BotUsername + `"}}`
	if code, _ := post(t, r.url+"/telegram/updates", update, "X-Telegram-Bot-Api-Secret-Token", "s3cret-Token_1"); code != http.StatusOK {
		t.Fatalf("update: got %d, want 200", code)
	}
	if msgs := tg.WaitMessages(t, 1, patience); !strings.Contains(msgs[0].Plain, "/status") {
		t.Errorf("answer to /help@bot: got %q, want the help text", msgs[0].Plain)
	}
	if got := tg.Calls("setWebhook"); got != 0 {
		t.Errorf("setWebhook calls without webhook_url: got %d, want 0", got)
	}
}

// A Bot API front end that refuses getWebhookInfo (404) does not stop
// polling: the check is skipped with a warning; a 5xx is retried.
func TestWebhookCheckRefused(t *testing.T) {
	for _, tc := range []struct {
		code    int
		checked bool
	}{{404, true}, {502, false}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(tc.code)
			fmt.Fprintf(w, `{"ok":false,"error_code":%d,"description":"no"}`, tc.code)
		}))
		api, err := telegram.New(testToken, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		var logs syncBuffer
		p := &poller{logger: slog.New(slog.NewTextHandler(&logs, nil))}
		checked := false
		err = p.dropOurWebhook(context.Background(), api, config.Chat{}, &checked)
		if checked != tc.checked || (err == nil) != tc.checked {
			t.Errorf("HTTP %d: got checked %v, err %v; want checked %v and an error only when not", tc.code, checked, err, tc.checked)
		}
		srv.Close()
		checkNoSecret(t, "logs", logs.String())
	}
}
