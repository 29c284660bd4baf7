package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

func runCommand(t *testing.T, opts *options) (string, string, error) {
	t.Helper()
	out, logs := &syncBuffer{}, &syncBuffer{}
	opts.stdout = out
	opts.logger = slog.New(slog.NewTextHandler(logs, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := run(ctx, opts)
	checkNoSecret(t, "output", out.String()+logs.String())
	if err != nil {
		checkNoSecret(t, "error", err.Error())
	}
	return out.String(), logs.String(), err
}

func TestTestMessage(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	tg.SetForum("-200", 7)
	opts := newOptions(t, writeConfig(t, "-100", "routes:\n  - name: ops\n    chat_id: \"-200\"\n    message_thread_id: 7\n"), t.TempDir(), tg.URL)
	for _, tc := range []struct {
		route, chat string
		thread      int
	}{{"", "-100", 0}, {"ops", "-200", 7}} {
		opts.command, opts.route = "test-message", tc.route
		out, _, err := runCommand(t, opts)
		if err != nil {
			t.Fatalf("test-message --route=%q: %v", tc.route, err)
		}
		msgs := tg.Messages()
		last := msgs[len(msgs)-1]
		if last.ChatID != tc.chat || last.ThreadID != tc.thread || !strings.Contains(out, "sent to chat "+tc.chat) {
			t.Errorf("route %q: got chat %s thread %d (%q), want chat %s thread %d", tc.route, last.ChatID, last.ThreadID, out, tc.chat, tc.thread)
		}
	}
	opts.route = "nope"
	if _, _, err := runCommand(t, opts); err == nil || !strings.Contains(err.Error(), "unknown route") {
		t.Errorf("unknown route: got %v, want an unknown route error", err)
	}
}

func TestTestMessageErrorsHideToken(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	tg.FailNext(1, 403, 0)
	opts := newOptions(t, writeConfig(t, "-100", ""), t.TempDir(), tg.URL)
	opts.command = "test-message"
	if _, _, err := runCommand(t, opts); err == nil || !strings.Contains(err.Error(), "-100") {
		t.Errorf("403: got %v, want an error naming the chat", err)
	}
}

func TestChats(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	opts := newOptions(t, writeConfig(t, "-100", ""), t.TempDir(), tg.URL)
	opts.command = "chats"
	out, _, err := runCommand(t, opts)
	if err != nil || !strings.Contains(out, "has seen no chats") {
		t.Errorf("no updates: got %q, %v, want a hint", out, err)
	}
	tg.AddUpdate(telegramtest.Update{ChatID: -1001234, Title: "Ops <team>", Text: "hi"},
		telegramtest.Update{ChatID: -1005678, Title: "Forum", ThreadID: 12, Topic: "alerts", Text: "hi"})
	out, _, err = runCommand(t, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CHAT_ID", "-1001234", "Ops <team>", "-1005678", "12", "alerts"} {
		if !strings.Contains(out, want) {
			t.Errorf("chats output lacks %q:\n%s", want, out)
		}
	}
}

func TestDryRun(t *testing.T) {
	t.Parallel()
	// No Telegram at all: the API URL points to a closed port.
	opts := newOptions(t, writeConfig(t, "-100", ""), t.TempDir(), "http://"+freeAddr(t))
	opts.dryRun = true
	r := startReceiver(t, opts)
	mustPost(t, r.url+"/webhook", body("firing", hostAlert("firing", "web&1", time.Now().Add(-time.Minute))))
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(r.out.String(), "web&amp;1") {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(r.out.String(), "dry-run message 1 to chat -100") {
		t.Errorf("dry-run output: got %q, want the message", r.out.String())
	}
	if !strings.Contains(r.out.String(), "\n[✅ Ack]\n") {
		t.Errorf("dry-run output: got %q, want the keyboard drawn as text", r.out.String())
	}
}

// TestDryRunWithoutCredentials: --dry-run needs neither TELEGRAM_BOT_TOKEN
// nor TELEGRAM_CHAT_ID (the child process has neither): it starts, and a
// webhook becomes a message on stdout, to the placeholder chat "dry-run".
func TestDryRunWithoutCredentials(t *testing.T) {
	t.Parallel()
	// No Telegram at all: a closed port.
	_, url, out := startProcess(t, "--dry-run", "--storage.path="+t.TempDir(), "--telegram.api-url=http://"+freeAddr(t))
	mustPost(t, url+"/webhook", body("firing", hostAlert("firing", "web1", time.Now().Add(-time.Minute))))
	want := "--- dry-run message 1 to chat " + dryRunChat + "\n🔴 <b>web1</b> is down"
	// Wait for the keyboard too: it may reach the pipe a moment after the
	// text (a loaded CI read the message without it).
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) && !(strings.Contains(out.String(), want) && strings.Contains(out.String(), "[✅ Ack]")) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(out.String(), want) {
		t.Errorf("output: got\n%s\nwant it to contain %q", out.String(), want)
	}
	// The placeholder chat shows the buttons a real chat would get (what
	// `make demo` prints): ack is local, so it is there without Alertmanager.
	if !strings.Contains(out.String(), "[✅ Ack]") {
		t.Errorf("output: got\n%s\nwant the keyboard drawn as text", out.String())
	}
	// test-message --dry-run prints too.
	got, code := runMain(t, nil, "test-message", "--dry-run", "--storage.path="+t.TempDir())
	if code != 0 || !strings.Contains(got, "test message 1 sent to chat "+dryRunChat) {
		t.Errorf("test-message --dry-run: got exit %d, output %q, want exit 0 and the message", code, got)
	}
}

// TestCredentialsRequired: without --dry-run the bot token and the chat stay
// required, with the error naming the variable; "chats" asks Telegram, so it
// needs the token even with --dry-run.
func TestCredentialsRequired(t *testing.T) {
	t.Parallel()
	apiURL, conns := countingListener(t)
	tokenErr := `telegram: \"bot_token\", \"bot_token_file\" or TELEGRAM_BOT_TOKEN is required`
	chatErr := `telegram: \"chat_id\" or TELEGRAM_CHAT_ID is required when no routes are configured`
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no token", []string{"TELEGRAM_CHAT_ID=-100"}, nil, tokenErr},
		{"nothing", nil, nil, tokenErr},
		{"no chat", []string{"TELEGRAM_BOT_TOKEN=" + testToken}, nil, chatErr},
		{"test-message without token", []string{"TELEGRAM_CHAT_ID=-100"}, []string{"test-message"}, tokenErr},
		{"chats in dry-run", nil, []string{"chats", "--dry-run"}, tokenErr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storage := filepath.Join(t.TempDir(), "data")
			args := append(tc.args, "--storage.path="+storage, "--telegram.api-url="+apiURL, "--web.listen-address="+freeAddr(t))
			out, code := runMain(t, tc.env, args...)
			if code != 1 || !strings.Contains(out, tc.want) {
				t.Errorf("got exit %d, output %q, want exit 1 and %q", code, out, tc.want)
			}
			if _, err := os.Stat(storage); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("storage %s: got stat error %v, want it not created", storage, err)
			}
		})
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("connections to the Telegram API: got %d, want 0", n)
	}
}

func TestBadConfigFailsStart(t *testing.T) {
	t.Parallel()
	opts := newOptions(t, writeConfig(t, "-100", "bogus: 1\n"), t.TempDir(), "http://127.0.0.1:1")
	_, _, err := runCommand(t, opts)
	if err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("got %v, want an error naming the unknown field", err)
	}
}

// TestDryRunPress is the press path `make demo` shows: in --dry-run with
// chat.updates: webhook, a button press posted to /telegram/updates is
// answered and the message edited, all printed; nothing reaches Telegram.
func TestDryRunPress(t *testing.T) {
	t.Parallel()
	extra := "chat:\n  updates: webhook\n  webhook_secret_token: demo-Secret_1\n"
	opts := newOptions(t, writeConfig(t, "-100", extra), t.TempDir(), "http://"+freeAddr(t))
	opts.dryRun = true
	r := startReceiver(t, opts)
	mustPost(t, r.url+"/webhook", body("firing", hostAlert("firing", "web1", time.Now().Add(-time.Minute))))
	waitOutput := func(want string) string {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && !strings.Contains(r.out.String(), want) {
			time.Sleep(20 * time.Millisecond)
		}
		out := r.out.String()
		if !strings.Contains(out, want) {
			t.Fatalf("dry-run output: got\n%s\nwant it to contain %q", out, want)
		}
		return out
	}
	out := waitOutput("callback_data ✅ Ack = ")
	data := strings.Fields(out[strings.Index(out, "callback_data ✅ Ack = ")+len("callback_data ✅ Ack = "):])[0]
	settle(t, r.url) // the message id is recorded
	update := `{"update_id": 7, "callback_query": {"id": "q7", "data": "` + data + `",
		"from": {"id": 42, "is_bot": false, "first_name": "D", "username": "demo_user"},
		"message": {"message_id": 1, "date": 1, "chat": {"id": -100, "type": "group"}}}}`
	if code, resp := post(t, r.url+"/telegram/updates", update, "X-Telegram-Bot-Api-Secret-Token", "demo-Secret_1"); code != 200 {
		t.Fatalf("press: got %d %s, want 200", code, resp)
	}
	waitOutput("--- dry-run answer to button press q7: Acknowledged")
	out = waitOutput("acknowledged by @demo_user")
	if !strings.Contains(out, "[↩️ Unack]") {
		t.Errorf("dry-run output after the press: got\n%s\nwant the Unack button", out)
	}
}
