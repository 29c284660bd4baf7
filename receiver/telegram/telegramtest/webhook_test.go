package telegramtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestSetWebhookValidates(t *testing.T) {
	s := NewServer(t, token)
	for _, tc := range []struct {
		name   string
		params url.Values
		desc   string
	}{
		{"relative URL", url.Values{"url": {"/telegram/updates"}}, "Bad Request: invalid webhook URL specified"},
		{"ftp URL", url.Values{"url": {"ftp://127.0.0.1/x"}}, "Bad Request: invalid webhook URL specified"},
		{"secret with a space", url.Values{"url": {"https://127.0.0.1/u"}, "secret_token": {"a b"}},
			"Bad Request: secret token contains unallowed characters"},
		{"secret too long", url.Values{"url": {"https://127.0.0.1/u"}, "secret_token": {strings.Repeat("a", 257)}},
			"Bad Request: secret token is too long"},
		{"allowed_updates not JSON", url.Values{"url": {"https://127.0.0.1/u"}, "allowed_updates": {"message"}},
			"Bad Request: can't parse allowed_updates JSON array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkAnswer(t, post(t, s, token, "setWebhook", tc.params), 400, tc.desc)
			if w := s.Webhook(); w != nil {
				t.Errorf("got webhook %+v after a refused setWebhook, want none", *w)
			}
		})
	}
}

func TestWebhookBlocksGetUpdates(t *testing.T) {
	s := NewServer(t, token)
	set := url.Values{"url": {"http://127.0.0.1:9427/telegram/updates"}, "secret_token": {"Sec_ret-1"},
		"allowed_updates": {`["message","callback_query"]`}}
	checkAnswer(t, post(t, s, token, "setWebhook", set), 200, "")
	w := s.Webhook()
	if w == nil || w.URL != set.Get("url") || w.SecretToken != "Sec_ret-1" || strings.Join(w.AllowedUpdates, ",") != "message,callback_query" {
		t.Fatalf("got webhook %+v, want the one set", w)
	}
	info := post(t, s, token, "getWebhookInfo", nil)
	res, _ := info.body["result"].(map[string]any)
	if res["url"] != set.Get("url") {
		t.Errorf("getWebhookInfo: got url %v, want %q", res["url"], set.Get("url"))
	}
	if _, leaked := res["secret_token"]; leaked {
		t.Errorf("getWebhookInfo shows the secret token: %s", info.raw)
	}
	checkAnswer(t, post(t, s, token, "getUpdates", url.Values{"timeout": {"0"}}), 409, conflictWebhookActive)

	checkAnswer(t, post(t, s, token, "deleteWebhook", nil), 200, "")
	checkAnswer(t, post(t, s, token, "deleteWebhook", nil), 200, "") // none set: still true
	if w := s.Webhook(); w != nil {
		t.Fatalf("got webhook %+v after deleteWebhook, want none", *w)
	}
	info = post(t, s, token, "getWebhookInfo", nil)
	if res, _ := info.body["result"].(map[string]any); res["url"] != "" {
		t.Errorf("getWebhookInfo after deleteWebhook: got url %v, want empty", res["url"])
	}
	checkAnswer(t, post(t, s, token, "getUpdates", url.Values{"timeout": {"0"}}), 200, "")

	// setWebhook with an empty url deletes it too, as in the Bot API.
	checkAnswer(t, post(t, s, token, "setWebhook", set), 200, "")
	checkAnswer(t, post(t, s, token, "setWebhook", url.Values{"url": {""}}), 200, "")
	if w := s.Webhook(); w != nil {
		t.Fatalf("got webhook %+v after setWebhook with an empty url, want none", *w)
	}
	if got := s.Conflicts(); got != 1 {
		t.Errorf("got %d conflicts, want 1", got)
	}
}

// A getUpdates waiting in a long poll ends with 409 when a webhook is set.
func TestSetWebhookTerminatesLongPoll(t *testing.T) {
	s := NewServer(t, token)
	done := make(chan answer, 1)
	go func() {
		resp, err := http.PostForm(s.URL+"/bot"+token+"/getUpdates", url.Values{"timeout": {"600"}})
		if err != nil {
			done <- answer{raw: err.Error()}
			return
		}
		done <- readAnswerNoT(resp)
	}()
	waitFor(t, func() bool { return s.Calls("getUpdates") == 1 })
	// The poll may not wait yet when setWebhook comes: either way it gets
	// a 409, "terminated by setWebhook" if it was waiting.
	checkAnswer(t, post(t, s, token, "setWebhook", url.Values{"url": {"https://127.0.0.1/u"}}), 200, "")
	a := <-done
	if a.status != 409 || (a.description() != conflictSetWebhook && a.description() != conflictWebhookActive) {
		t.Errorf("got %d %q, want 409 %q", a.status, a.description(), conflictSetWebhook)
	}
}

// readAnswerNoT is readAnswer for a goroutine (no t.Fatal there).
func readAnswerNoT(resp *http.Response) answer {
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

// waitFor waits (generously) until cond holds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
