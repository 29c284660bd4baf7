package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/internal/pgtest"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

// envRunMain makes the test binary run main() with the JSON-encoded
// arguments in it, so a test can start the receiver as a process and kill -9 it.
const envRunMain = "DOWNTIME_RECEIVER_TEST_MAIN_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(envRunMain); args != "" {
		var a []string
		if err := json.Unmarshal([]byte(args), &a); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Args = append([]string{program}, a...)
		main()
		os.Exit(0)
	}
	pgtest.Main(m) // stops the private PostgreSQL cluster of the HA tests
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startProcess runs the receiver as a child process on a free port, with
// no TELEGRAM_* variables in its environment.
func startProcess(t *testing.T, args ...string) (*exec.Cmd, string, *syncBuffer) {
	t.Helper()
	return startProcessEnv(t, nil, args...)
}

// Queue while Telegram is down, kill -9 the receiver, restart it on the same
// storage, bring Telegram up: every message is sent exactly once, and the
// resolved message replies to the firing message sent after the restart.
func TestKillAndRestart(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	tg.SetDown(true)
	dir := t.TempDir()
	args := []string{"--config.file=" + writeConfig(t, "4242", ""), "--storage.path=" + dir, "--telegram.api-url=" + tg.URL}
	cmd, url, out := startProcess(t, args...)
	start := time.Now().Add(-3 * time.Minute)
	for i := range 5 {
		mustPost(t, url+"/webhook", body("firing", hostAlert("firing", fmt.Sprint("h", i), start)))
	}
	mustPost(t, url+"/webhook", body("resolved", hostAlert("resolved", "h0", start)))
	// Let the worker fail against the outage (an outcome, polled).
	deadline := time.Now().Add(10 * time.Second)
	for metricFloat(t, url, "downtime_receiver_retries_total") == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if n := len(tg.Messages()); n != 0 {
		t.Fatalf("messages during outage: got %d, want 0", n)
	}
	if !strings.Contains(out.String(), "will retry") {
		t.Errorf("first process log has no retry line:\n%s", out.String())
	}

	_, url, _ = startProcess(t, args...)
	tg.SetDown(false)
	tg.WaitMessages(t, 6, 20*time.Second)
	tg.WaitEdits(t, 1, 5*time.Second)
	// Alertmanager retries what it may not have seen acknowledged: no doubles.
	// The answer says what was queued: nothing, so nothing more is sent.
	for i := range 5 {
		code, resp := post(t, url+"/webhook", body("firing", hostAlert("firing", fmt.Sprint("h", i), start)))
		if code != 200 || !strings.Contains(resp, `"queued":0`) {
			t.Errorf("replayed webhook %d: got %d %s, want 200 with nothing queued", i, code, resp)
		}
	}
	msgs := tg.Messages()
	if len(msgs) != 6 || len(tg.Edits()) != 1 {
		t.Fatalf("after restart: got %d messages and %d edits, want 6 and 1", len(msgs), len(tg.Edits()))
	}
	seen := map[string]bool{}
	firingID := 0
	for _, m := range msgs {
		if seen[m.Text] {
			t.Errorf("message sent twice: %q", m.Plain)
		}
		seen[m.Text] = true
		if strings.Contains(m.Plain, "h0") && m.ReplyTo == 0 {
			firingID = m.MessageID
		}
	}
	if last := msgs[len(msgs)-1]; firingID == 0 || last.ReplyTo != firingID {
		t.Errorf("resolved message: got reply to %d, want the firing message of h0 (%d)", last.ReplyTo, firingID)
	}
}

// kill -9 while messages are being sent, restart: every message arrives.
// A message can be sent twice only if the kill lands between Telegram
// accepting it and the local commit (about a millisecond out of every
// paced second), so at most one duplicate is tolerated.
func TestKillWhileSending(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	dir := t.TempDir()
	args := []string{"--config.file=" + writeConfig(t, "4242", ""), "--storage.path=" + dir, "--telegram.api-url=" + tg.URL}
	cmd, url, _ := startProcess(t, args...)
	const n = 8
	start := time.Now().Add(-time.Minute)
	for i := range n { // one notification group per host: n messages, 1 per second
		mustPost(t, url+"/webhook", body("firing", hostAlert("firing", fmt.Sprint("k", i), start)))
	}
	// Kill at a time not tied to a send (waiting for the 3rd message would
	// kill right inside the accept-to-commit window).
	time.Sleep(2500 * time.Millisecond)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	before := len(tg.Messages())
	startProcess(t, args...)
	count := map[string]int{}
	deadline := time.Now().Add(20 * time.Second)
	for len(count) < n && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		clear(count)
		for _, m := range tg.Messages() {
			count[m.Text]++
		}
	}
	dups := len(tg.Messages()) - len(count)
	if len(count) != n || dups > 1 {
		t.Errorf("got %d distinct messages and %d duplicates, want %d and at most 1", len(count), dups, n)
	}
	t.Logf("killed after %d of %d messages; %d duplicate(s)", before, n, dups)
}
