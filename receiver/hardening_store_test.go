package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/bolt"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

// queuedStore makes a real store file holding queued messages for chat
// 4242 and returns its bytes.
func queuedStore(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	s, err := bolt.OpenWith(dir, bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var jobs []store.Job
	for i := range 200 {
		jobs = append(jobs, store.Job{Kind: store.KindFiring, ChatID: "4242",
			Text: fmt.Sprintf("queued-%03d %s", i, strings.Repeat("x", 200)), Keys: []string{fmt.Sprint("k", i)},
			Alerts: []store.AlertRef{{Fingerprint: fmt.Sprint("fp", i), StartsAt: t0}}})
	}
	if q, err := store.Enqueue(s, jobs, t0); err != nil || len(q) != len(jobs) {
		t.Fatalf("Enqueue: got %d, %v", len(q), err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, bolt.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A damaged store stops the receiver before it sends anything: the process
// exits non-zero with an error naming the file and what to do, and Telegram
// receives nothing (it used to crash after sending the first queued
// message, and send it again on every restart).
func TestDamagedStoreSendsNothing(t *testing.T) {
	t.Parallel()
	good := queuedStore(t)
	ps := os.Getpagesize()
	flipped := bytes.Clone(good)
	for off := 2 * ps; off < len(flipped); off += ps {
		flipped[off+8] ^= 0xff // page type flags
	}
	for _, tc := range []struct {
		name string
		file []byte
	}{
		{"truncated", good[:len(good)/2]},
		{"bit-flipped", flipped},
		{"zero length", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tg := telegramtest.NewServer(t, testToken)
			dir := t.TempDir()
			path := filepath.Join(dir, bolt.FileName)
			if err := os.WriteFile(path, tc.file, 0o600); err != nil {
				t.Fatal(err)
			}
			out, code := runMain(t, []string{"TELEGRAM_BOT_TOKEN=" + testToken, "TELEGRAM_CHAT_ID=4242"},
				"--storage.path="+dir, "--telegram.api-url="+tg.URL, "--web.listen-address="+freeAddr(t))
			if code == 0 {
				t.Errorf("exit code: got 0, want non-zero; output:\n%s", out)
			}
			for _, w := range []string{"store file is damaged", path, "move the file aside", "may be lost"} {
				if !strings.Contains(out, w) {
					t.Errorf("output: got %q, want it to contain %q", out, w)
				}
			}
			if n := len(tg.Messages()); n != 0 {
				t.Errorf("messages sent: got %d, want 0", n)
			}
			if n := tg.Calls("sendMessage") + tg.Calls("editMessageText"); n != 0 {
				t.Errorf("Telegram calls: got %d, want 0", n)
			}
		})
	}
	// The undamaged store sends its queue.
	tg := telegramtest.NewServer(t, testToken)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, bolt.FileName), good, 0o600); err != nil {
		t.Fatal(err)
	}
	opts := newOptions(t, writeConfig(t, "4242", ""), dir, tg.URL)
	startReceiver(t, opts)
	if m := tg.WaitMessages(t, 1, 10*time.Second)[0]; !strings.HasPrefix(m.Plain, "queued-000") {
		t.Errorf("first message from the undamaged store: got %q, want queued-000...", m.Plain)
	}
}
