package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/internal/clock/clocktest"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

// Payloads captured from a real Alertmanager (testdata/README.md) decode and
// produce the expected messages: downtime_for moves the start back by 1m.
func TestRealAlertmanagerPayloads(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	clk := clocktest.New(time.Date(2026, 11, 24, 19, 12, 0, 0, time.UTC))
	opts := newOptions(t, writeConfig(t, "4242", ""), t.TempDir(), tg.URL)
	opts.now = clk.Now
	r := startReceiver(t, opts)
	read := func(name string) string {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	firing, resolved := read("alertmanager-firing.json"), read("alertmanager-resolved.json")
	mustPost(t, r.url+"/webhook", firing)
	mustPost(t, r.url+"/webhook", firing) // a retry
	mustPost(t, r.url+"/webhook", resolved)
	msgs := tg.WaitMessages(t, 2, 10*time.Second)
	tg.WaitEdits(t, 1, 5*time.Second)
	for _, c := range []struct {
		name, got string
		want      []string
	}{
		{"firing", msgs[0].Plain, []string{"web1", "is down", "web1 does not answer ping", "down since 2026-11-24 18:59:00 UTC"}},
		{"resolved", msgs[1].Plain, []string{"web1", "up after 47m", "18:59:00", "19:46:09"}},
		{"edit", tg.Edits()[0].Plain, []string{"web1", "resolved after 47m"}},
	} {
		for _, w := range c.want {
			if !strings.Contains(c.got, w) {
				t.Errorf("%s message: got %q, want it to contain %q", c.name, c.got, w)
			}
		}
	}
	if msgs[1].ReplyTo != msgs[0].MessageID {
		t.Errorf("resolved: got reply to %d, want %d", msgs[1].ReplyTo, msgs[0].MessageID)
	}
}
