package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/bolt"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

// seedDeadLetters writes two dead letters (jobs 1 and 2, to chat -100) into
// the store in dir, as a receiver would have after two 403s.
func seedDeadLetters(t *testing.T, dir string) {
	t.Helper()
	st, err := bolt.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var jobs []store.Job
	for _, h := range []string{"web1", "web2"} {
		jobs = append(jobs, store.Job{Kind: store.KindFiring, ChatID: "-100", Text: "🔴 " + h + " is down",
			Keys: []string{"k-" + h}, Alerts: []store.AlertRef{{Fingerprint: "fp-" + h, StartsAt: t0}}})
	}
	q, err := store.Enqueue(st, jobs, t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range q {
		if err := st.DeadLetter(j, "forbidden", errors.New("Forbidden: bot was kicked"), t0); err != nil {
			t.Fatal(err)
		}
	}
}

func deadLetterOpts(t *testing.T, dir string, args ...string) *options {
	t.Helper()
	opts, err := parseFlags(append([]string{"dead-letters", "--storage.path=" + dir}, args...), nil, nil)
	if err != nil {
		t.Fatalf("parsing %v: %v", args, err)
	}
	opts.now = func() time.Time { return t0.Add(time.Hour) }
	return opts
}

// TestDeadLettersOffline: list, retry and purge on the store of a stopped
// receiver; retry and purge need ids or --all.
func TestDeadLettersOffline(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	seedDeadLetters(t, dir)
	for _, tc := range []struct {
		args    []string
		want    []string // in the output
		wantErr string
	}{
		{[]string{"list"}, []string{"ID", "1 ", "2 ", "forbidden", "bot was kicked"}, ""},
		{[]string{"retry"}, nil, "give job ids or --all"},
		{[]string{"purge", "--all", "1"}, nil, "give job ids or --all"},
		{[]string{"retry", "7"}, nil, "no such dead letter"},
		{[]string{"retry", "2"}, []string{"queued again as job 3: firing to chat -100", "1 dead letter(s) queued again"}, ""},
		{[]string{"purge", "--all"}, []string{"1 dead letter(s) purged"}, ""},
		{[]string{"list"}, []string{"no dead letters"}, ""},
	} {
		out, _, err := runCommand(t, deadLetterOpts(t, dir, tc.args...))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: got %v, want an error containing %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
	empty := t.TempDir()
	if _, _, err := runCommand(t, deadLetterOpts(t, empty, "list")); err == nil || !strings.Contains(err.Error(), "no store in --storage.path") {
		t.Errorf("list on a directory without a store: got %v, want a no-store error", err)
	}
	st, err := bolt.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if p, err := st.Pending(0); err != nil || len(p) != 1 || p[0].ID != 3 || p[0].Keys[0] != "k-web2" {
		t.Errorf("queue after retry: got %+v, %v, want job 3 with key k-web2", p, err)
	}
}

// TestDeadLettersRunning: with the receiver running, the store is locked
// and the error says what to do; through --web.url (with the webhook
// credentials of --config.file) a retried dead letter is sent.
func TestDeadLettersRunning(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	dir := t.TempDir()
	seedDeadLetters(t, dir)
	cfg := writeConfig(t, "-100", "webhook_auth:\n  bearer_token: adm1n-Tok\n")
	r := startReceiver(t, newOptions(t, cfg, dir, tg.URL))

	_, _, err := runCommand(t, deadLetterOpts(t, dir, "list"))
	if err == nil || !strings.Contains(err.Error(), "in use by a running receiver: use --web.url") {
		t.Fatalf("offline list of a running receiver's store: got %v, want the in-use error", err)
	}
	if _, _, err := runCommand(t, deadLetterOpts(t, dir, "list", "--web.url="+r.url)); err == nil ||
		!strings.Contains(err.Error(), "401") {
		t.Errorf("without credentials: got %v, want 401", err)
	}
	online := func(args ...string) string {
		t.Helper()
		opts := deadLetterOpts(t, dir, append(args, "--web.url="+r.url)...)
		opts.configFile = cfg
		out, _, err := runCommand(t, opts)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out
	}
	if out := online("list"); !strings.Contains(out, "bot was kicked") {
		t.Errorf("list: got %q, want both dead letters", out)
	}
	if out := online("retry", "1"); !strings.Contains(out, "1 dead letter(s) queued again") {
		t.Errorf("retry 1: got %q", out)
	}
	if m := tg.WaitMessages(t, 1, 10*time.Second); !strings.Contains(m[0].Text, "web1 is down") {
		t.Errorf("retried message: got %q, want web1's", m[0].Text)
	}
	if out := online("purge", "2"); !strings.Contains(out, "1 dead letter(s) purged") {
		t.Errorf("purge 2: got %q", out)
	}
	if out := online("list"); !strings.Contains(out, "no dead letters") {
		t.Errorf("list after purge: got %q", out)
	}
}
