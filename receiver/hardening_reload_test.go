package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

// A config file with no document, or one that would silently switch
// webhook auth off or drop every route, is refused on reload: the gauge
// goes to 0 and the running configuration (auth on, route "db") stays.
// Asked for explicitly, the same changes are applied.
func TestReloadRefusesSilentOpening(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	const auth = "webhook_auth:\n  bearer_token: hook-pass\n"
	const routes = "routes:\n  - name: db\n    chat_id: \"4343\"\n"
	path := writeConfig(t, "4242", auth+routes)
	r := startReceiver(t, newOptions(t, path, t.TempDir(), tg.URL))
	bearer := []string{"Authorization", "Bearer hook-pass"}
	sent := 0
	for _, tc := range []struct {
		name string
		raw  string // the whole file when set
		tail string // else the extra YAML after telegram and timezone
		want string
	}{
		{name: "empty file", raw: "", want: "no configuration in the file"},
		{name: "comments only", raw: "# telegram:\n#   chat_id: 1\n", want: "no configuration in the file"},
		{name: "document marker", raw: "---\n", want: "no configuration in the file"},
		{name: "null", raw: "null\n", want: "no configuration in the file"},
		{name: "auth removed", tail: routes, want: "would switch webhook authentication off"},
		{name: "routes removed", tail: auth, want: "would drop all 1 route(s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.tail != "" {
				rewriteConfig(t, path, "4242", tc.tail)
			} else if err := os.WriteFile(path, []byte(tc.raw), 0o600); err != nil {
				t.Fatal(err)
			}
			code, resp := postReload(t, r.url)
			if code != 500 || !strings.Contains(resp, "receiver.yml") || !strings.Contains(resp, tc.want) {
				t.Errorf("POST /-/reload: got %d %q, want 500 naming receiver.yml and %q", code, resp, tc.want)
			}
			if got := metricFloat(t, r.url, reloadOK); got != 0 {
				t.Errorf("%s: got %v, want 0", reloadOK, got)
			}
			// The old configuration stays: auth on, route db.
			payload := body("firing", hostAlert("firing", "h-"+strings.ReplaceAll(tc.name, " ", "-"), time.Now()))
			if code, resp := post(t, r.url+"/webhook/db", payload); code != 401 {
				t.Errorf("unauthenticated POST after refused reload: got %d %s, want 401", code, resp)
			}
			if code, resp := post(t, r.url+"/webhook/db", payload, bearer...); code != 200 {
				t.Fatalf("authenticated POST /webhook/db after refused reload: got %d %s, want 200", code, resp)
			}
			sent++
			if m := tg.WaitMessages(t, sent, 5*time.Second)[sent-1]; m.ChatID != "4343" {
				t.Errorf("message after refused reload: got chat %s, want 4343 (route db)", m.ChatID)
			}
		})
	}
	// Asked explicitly: both changes apply.
	rewriteConfig(t, path, "4242", "webhook_auth: {disabled: true}\nroutes: []\n")
	if code, resp := postReload(t, r.url); code != 200 || metricFloat(t, r.url, reloadOK) != 1 {
		t.Fatalf("explicit reload: got %d %q and gauge %s, want 200 and 1", code, resp, metric(t, r.url, reloadOK))
	}
	mustPost(t, r.url+"/webhook", body("firing", hostAlert("firing", "h-open", time.Now())))
	if m := tg.WaitMessages(t, sent+1, 5*time.Second)[sent]; m.ChatID != "4242" {
		t.Errorf("message after explicit reload: got chat %s, want the default 4242", m.ChatID)
	}
}

// A resolved alert with endsAt in year 9999 is taken as resolved now: the
// message says the real downtime, not "up after 106751d23h".
func TestEndsAtFarFuture(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	r := startReceiver(t, newOptions(t, writeConfig(t, "4242", ""), t.TempDir(), tg.URL))
	start := time.Now().Add(-42 * time.Minute)
	mustPost(t, r.url+"/webhook", body("firing", hostAlert("firing", "far1", start)))
	a := hostAlert("resolved", "far1", start)
	a.EndsAt = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	mustPost(t, r.url+"/webhook", body("resolved", a))
	m := tg.WaitMessages(t, 2, 5*time.Second)[1]
	if strings.Contains(m.Plain, "106751d") || !strings.Contains(m.Plain, "is up after 42m") {
		t.Errorf("resolved message: got %q, want \"is up after 42m\"", m.Plain)
	}
	if !strings.Contains(r.logs.String(), "resolved alert ends in the future") {
		t.Errorf("no warning logged for the endsAt in year 9999")
	}
}
