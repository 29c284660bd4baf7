package main

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/internal/clock/clocktest"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

const (
	reloadOK = "downtime_receiver_config_last_reload_successful"
	reloadTS = "downtime_receiver_config_last_reload_success_timestamp_seconds"
)

// countingListener is a stand-in Telegram that only counts connections.
func countingListener(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	return "http://" + l.Addr().String(), &n
}

// childEnv is the environment of a child process running main() with args:
// this process's, without TELEGRAM_* variables, plus env.
func childEnv(env []string, args ...string) []string {
	enc, _ := json.Marshal(args)
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TELEGRAM_") {
			out = append(out, kv)
		}
	}
	return append(append(out, env...), envRunMain+"="+string(enc))
}

// runMain runs main() in a child process with a clean TELEGRAM_* environment
// until it exits (killed after 30 s: a command that should have failed
// serves instead).
func runMain(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = childEnv(env, args...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running main: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("main %q still running after 30s; output:\n%s", args, out)
	}
	checkNoSecret(t, "output", string(out))
	return string(out), cmd.ProcessState.ExitCode()
}

// --config.check validates file and templates, opens no store and contacts
// no Telegram.
func TestConfigCheck(t *testing.T) {
	t.Parallel()
	apiURL, conns := countingListener(t)
	missing := filepath.Join(t.TempDir(), "missing.yml")
	for _, tc := range []struct {
		name   string
		config string // "" = no --config.file; "missing" = a file that does not exist
		env    []string
		code   int
		want   []string
	}{
		{"good", writeConfig(t, "4242", "routes:\n  - name: db\n    chat_id: \"4343\"\n"), nil, 0,
			[]string{"config OK:", "receiver.yml", "1 route(s)"}},
		{"environment only", "", []string{"TELEGRAM_BOT_TOKEN=" + testToken, "TELEGRAM_CHAT_ID=-100"}, 0,
			[]string{"config OK: environment"}},
		{"no token", "", nil, 1, []string{"config check failed", "TELEGRAM_BOT_TOKEN"}},
		{"missing file", missing, nil, 1, []string{"config check failed", "missing.yml", "no such file"}},
		{"unknown field", writeConfig(t, "4242", "timezon: UTC\n"), nil, 1,
			[]string{"receiver.yml", "line 5", `unknown field "timezon"`}},
		{"bad matcher", writeConfig(t, "4242", "routes:\n  - name: x\n    matchers: ['a=~(']\n    chat_id: \"1\"\n"), nil, 1,
			[]string{"receiver.yml", "line 7", `route "x": invalid matcher`}},
		{"bad template", writeConfig(t, "4242", "templates:\n  firing: '{{ .Host'\n"), nil, 1,
			[]string{"receiver.yml", "parsing templates", `"firing"`, "unclosed action"}},
		// Telegram would refuse these: caught here, not at the first alert.
		{"span without tg-spoiler", writeConfig(t, "4242", "templates:\n  resolved: '<span>{{ .Host }}</span> is up'\n"), nil, 1,
			[]string{"receiver.yml", `template "resolved" produced invalid Telegram HTML`, `<span> must have class="tg-spoiler"`}},
		{"custom emoji without id", writeConfig(t, "4242", "templates:\n  firing: '<tg-emoji>🔴</tg-emoji> {{ .Host }}'\n"), nil, 1,
			[]string{"receiver.yml", `template "firing" produced invalid Telegram HTML`, "<tg-emoji> needs a positive numeric emoji-id"}},
		{"thread id 1", writeConfig(t, "4242", "routes:\n  - name: db\n    chat_id: \"-100\"\n    message_thread_id: 1\n"), nil, 1,
			[]string{"receiver.yml", "line 8", "General topic"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storage := filepath.Join(t.TempDir(), "data")
			args := []string{"--config.check", "--storage.path=" + storage, "--telegram.api-url=" + apiURL}
			if tc.config != "" {
				args = append(args, "--config.file="+tc.config)
			}
			out, code := runMain(t, tc.env, args...)
			if code != tc.code {
				t.Errorf("exit code: got %d, want %d; output:\n%s", code, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output: got %q, want it to contain %q", out, w)
				}
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

// metricFloat returns a series' value, failing when it is absent.
func metricFloat(t *testing.T, url, series string) float64 {
	t.Helper()
	s := metric(t, url, series)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%s: got %q, want a number", series, s)
	}
	return v
}

func postReload(t *testing.T, url string) (int, string) {
	t.Helper()
	return post(t, url+"/-/reload", "")
}

// A good reload applies new routes, templates and webhook auth to the next
// request, and moves the success timestamp.
func TestReloadApplies(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	tg.SetForum("4343", 5) // a private chat with topics
	path := writeConfig(t, "4242", "")
	fc := clocktest.New(time.Now())
	opts := newOptions(t, path, t.TempDir(), tg.URL)
	opts.clock = fc
	r := startReceiver(t, opts)
	payload := body("firing", hostAlert("firing", "app1", fc.Now()))
	if code, resp := post(t, r.url+"/webhook/new", payload); code != 404 {
		t.Fatalf("POST /webhook/new before reload: got %d %s, want 404", code, resp)
	}
	if got := metricFloat(t, r.url, reloadOK); got != 1 {
		t.Errorf("%s at start: got %v, want 1", reloadOK, got)
	}
	ts := metricFloat(t, r.url, reloadTS)
	fc.Advance(time.Second)
	rewriteConfig(t, path, "4242", "routes:\n  - name: new\n    chat_id: \"4343\"\n    message_thread_id: 5\n"+
		"templates:\n  firing: 'CUSTOM {{ .Host }}'\nwebhook_auth:\n  bearer_token: hook-pass\n")
	if code, resp := postReload(t, r.url); code != 200 {
		t.Fatalf("POST /-/reload: got %d %q, want 200", code, resp)
	}
	for _, tc := range []struct {
		name string
		hdr  []string
		code int
	}{
		{"no credentials", nil, 401},
		{"wrong token", []string{"Authorization", "Bearer nope"}, 401},
		{"right token", []string{"Authorization", "Bearer hook-pass"}, 200},
	} {
		if code, resp := post(t, r.url+"/webhook/new", payload, tc.hdr...); code != tc.code {
			t.Errorf("%s: POST /webhook/new after reload: got %d %s, want %d", tc.name, code, resp, tc.code)
		}
	}
	msgs := tg.WaitMessages(t, 1, 5*time.Second)
	if m := msgs[0]; m.ChatID != "4343" || m.ThreadID != 5 || !strings.Contains(m.Plain, "CUSTOM app1") {
		t.Errorf("message: got chat %s thread %d %q, want chat 4343 thread 5 \"CUSTOM app1\"", m.ChatID, m.ThreadID, m.Plain)
	}
	if got := metricFloat(t, r.url, reloadOK); got != 1 {
		t.Errorf("%s: got %v, want 1", reloadOK, got)
	}
	if got := metricFloat(t, r.url, reloadTS); math.Abs(got-(ts+1)) > 1e-3 {
		t.Errorf("%s: got %v, want %v (a second after the start)", reloadTS, got, ts+1)
	}
	if resp := get(t, r.url+"/-/reload"); !strings.Contains(resp, "reload needs POST") {
		t.Errorf("GET /-/reload: got %q, want \"reload needs POST\"", resp)
	}
	if strings.Contains(r.logs.String(), "hook-pass") {
		t.Errorf("logs contain the webhook bearer token")
	}
}

// A bad reload keeps the running configuration, answers 500 with the error
// (no secret in it) and sets the gauge to 0; a good one sets it back to 1.
func TestBadReloadKeepsConfig(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	good := "routes:\n  - name: old\n    chat_id: \"4343\"\n"
	path := writeConfig(t, "4242", good)
	r := startReceiver(t, newOptions(t, path, t.TempDir(), tg.URL))
	ts := metricFloat(t, r.url, reloadTS)
	sent := 0
	for _, tc := range []struct {
		name, extra string
		want        []string
	}{
		{"unknown field", good + "timezon: UTC\n", []string{"receiver.yml", "line 8", `unknown field "timezon"`}},
		{"route without chat", "routes:\n  - name: new\n", []string{"line 6", `route "new": "chat_id" is required`}},
		{"bad template", good + "templates:\n  firing: '{{ .Host'\n", []string{"parsing templates", "unclosed action"}},
		{"missing secret file", good + "webhook_auth:\n  bearer_token_file: nope\n", []string{`"bearer_token_file"`, "no such file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rewriteConfig(t, path, "4242", tc.extra)
			code, resp := postReload(t, r.url)
			if code != 500 || !strings.HasPrefix(resp, "failed to reload config: ") {
				t.Errorf("POST /-/reload: got %d %q, want 500 \"failed to reload config: ...\"", code, resp)
			}
			for _, w := range tc.want {
				if !strings.Contains(resp, w) {
					t.Errorf("POST /-/reload: got %q, want it to contain %q", resp, w)
				}
			}
			checkNoSecret(t, "reload answer", resp)
			if got := metricFloat(t, r.url, reloadOK); got != 0 {
				t.Errorf("%s: got %v, want 0", reloadOK, got)
			}
			if got := metricFloat(t, r.url, reloadTS); got != ts {
				t.Errorf("%s: got %v, want unchanged %v", reloadTS, got, ts)
			}
			// The running configuration still routes "old" and has no auth.
			mustPost(t, r.url+"/webhook/old", body("firing", hostAlert("firing", "h-"+tc.name, time.Now())))
			sent++
			if m := tg.WaitMessages(t, sent, 5*time.Second)[sent-1]; m.ChatID != "4343" {
				t.Errorf("message after failed reload: got chat %s, want 4343", m.ChatID)
			}
		})
	}
	rewriteConfig(t, path, "4242", good)
	if code, resp := postReload(t, r.url); code != 200 || metricFloat(t, r.url, reloadOK) != 1 {
		t.Errorf("good reload after bad ones: got %d %q and gauge %s, want 200 and 1", code, resp, metric(t, r.url, reloadOK))
	}
	if !strings.Contains(r.logs.String(), "reload failed, keeping the running configuration") {
		t.Errorf("no log line for the failed reload")
	}
}

// A bot token changed by a reload is used for the next send (the fake only
// knows the first token, so it answers 401); changing it back recovers.
func TestReloadBotToken(t *testing.T) {
	t.Parallel()
	const otherToken = "777:OTHER-token-Xy1"
	tg := telegramtest.NewServer(t, testToken)
	path := writeConfig(t, "4242", "")
	r := startReceiver(t, newOptions(t, path, t.TempDir(), tg.URL))
	cfgWith := func(token string) {
		t.Helper()
		rewriteConfig(t, path, "4242", "")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(strings.Replace(string(b), testToken, token, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		if code, resp := postReload(t, r.url); code != 200 {
			t.Fatalf("POST /-/reload: got %d %q, want 200", code, resp)
		}
	}
	cfgWith(otherToken)
	mustPost(t, r.url+"/webhook", body("firing", hostAlert("firing", "a", time.Now())))
	deadline := time.Now().Add(5 * time.Second)
	series := `downtime_receiver_messages_failed_total{reason="unauthorized"}`
	for metric(t, r.url, series) != "1" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := metric(t, r.url, series); got != "1" || len(tg.Messages()) != 0 {
		t.Fatalf("with the other token: got %s=%q and %d messages, want 1 and 0", series, got, len(tg.Messages()))
	}
	cfgWith(testToken)
	mustPost(t, r.url+"/webhook", body("firing", hostAlert("firing", "b", time.Now())))
	tg.WaitMessages(t, 1, 5*time.Second)
	logs := r.logs.String()
	if !strings.Contains(logs, "bot token changed") {
		t.Errorf("no log line about the changed bot token")
	}
	if strings.Contains(logs, "OTHER-token") {
		t.Errorf("logs contain the new bot token")
	}
}

// SIGHUP to the process reloads; a bad file on SIGHUP keeps it serving.
func TestSIGHUP(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	path := writeConfig(t, "4242", "")
	cmd, url, out := startProcess(t, "--config.file="+path, "--storage.path="+t.TempDir(), "--telegram.api-url="+tg.URL)
	payload := body("firing", hostAlert("firing", "app1", time.Now()))
	if code, resp := post(t, url+"/webhook/new", payload); code != 404 {
		t.Fatalf("POST /webhook/new before SIGHUP: got %d %s, want 404", code, resp)
	}
	hup := func(want string) {
		t.Helper()
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(out.String(), want) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(out.String(), want) {
			t.Fatalf("after SIGHUP: no log line %q in\n%s", want, out.String())
		}
	}
	rewriteConfig(t, path, "4242", "routes:\n  - name: new\n    chat_id: \"4343\"\n")
	hup("configuration reloaded")
	mustPost(t, url+"/webhook/new", payload)
	if m := tg.WaitMessages(t, 1, 5*time.Second)[0]; m.ChatID != "4343" {
		t.Errorf("message after SIGHUP: got chat %s, want 4343", m.ChatID)
	}
	rewriteConfig(t, path, "4242", "routes: [{name: new}]\n")
	hup("reload failed")
	if got := metricFloat(t, url, reloadOK); got != 0 {
		t.Errorf("%s after bad SIGHUP: got %v, want 0", reloadOK, got)
	}
	mustPost(t, url+"/webhook/new", body("firing", hostAlert("firing", "app2", time.Now())))
	tg.WaitMessages(t, 2, 5*time.Second)
}

// Jobs queued before a reload keep their chat and text, even when the
// reload removes their route.
func TestReloadKeepsQueuedJobs(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	tg.SetDown(true)
	path := writeConfig(t, "4242", "routes:\n  - name: old\n    chat_id: \"4343\"\n")
	r := startReceiver(t, newOptions(t, path, t.TempDir(), tg.URL))
	mustPost(t, r.url+"/webhook/old", body("firing", hostAlert("firing", "q1", time.Now())))
	rewriteConfig(t, path, "5555", "routes: []\ntemplates:\n  firing: 'NEW {{ .Host }}'\n")
	if code, resp := postReload(t, r.url); code != 200 {
		t.Fatalf("POST /-/reload: got %d %q, want 200", code, resp)
	}
	tg.SetDown(false)
	m := tg.WaitMessages(t, 1, 10*time.Second)[0]
	if m.ChatID != "4343" || !strings.Contains(m.Plain, "q1 is down") {
		t.Errorf("queued message: got chat %s %q, want chat 4343 with the text rendered before the reload", m.ChatID, m.Plain)
	}
}
