package main

import (
	"context"
	"log/slog"
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
}

func TestBadConfigFailsStart(t *testing.T) {
	t.Parallel()
	opts := newOptions(t, writeConfig(t, "-100", "bogus: 1\n"), t.TempDir(), "http://127.0.0.1:1")
	_, _, err := runCommand(t, opts)
	if err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("got %v, want an error naming the unknown field", err)
	}
}
