package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/receiver/alertmanager"
	"github.com/downtime-detector/downtime/receiver/alertmanager/amtest"
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
