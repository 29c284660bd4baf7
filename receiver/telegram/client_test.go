package telegram_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/telegram"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

const token = "123456:ABC-secret_TOKEN"

func newClient(t *testing.T, apiURL string) *telegram.Client {
	t.Helper()
	c, err := telegram.New(token, apiURL, &http.Client{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// checkError asserts err is a *telegram.Error with the reason and retry
// decision, and that it does not reveal the token.
func checkError(t *testing.T, err error, reason string, retry bool) *telegram.Error {
	t.Helper()
	var e *telegram.Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %T %v, want *telegram.Error", err, err)
	}
	if e.Reason != reason || e.Retry != retry {
		t.Errorf("got reason %q retry %v, want %q %v (%v)", e.Reason, e.Retry, reason, retry, err)
	}
	if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "ABC-secret") {
		t.Errorf("error reveals the token: %v", err)
	}
	return e
}

func TestSendParams(t *testing.T) {
	s := telegramtest.NewServer(t, token)
	s.SetLimits(telegramtest.Limits{})
	s.SetForum("-100123", 7)
	c := newClient(t, s.URL)
	ctx := context.Background()
	first, err := c.Send(ctx, telegram.Message{ChatID: "-100123", Text: "<b>down</b> a &amp; b"})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	second, err := c.Send(ctx, telegram.Message{ChatID: "-100123", ThreadID: 7, ReplyTo: first, Silent: true, Text: "up"})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if _, err := c.Send(ctx, telegram.Message{ChatID: "@channel", ReplyTo: 999, Text: "reply to a deleted message"}); err != nil {
		t.Fatalf("Send with a missing reply target: %v", err)
	}
	got := s.Messages()
	want := []telegramtest.Sent{
		{ChatID: "-100123", MessageID: first, Text: "<b>down</b> a &amp; b", ParseMode: "HTML", Plain: "down a & b", NoPreview: true},
		{ChatID: "-100123", ThreadID: 7, MessageID: second, ReplyTo: first, Text: "up", Silent: true, ParseMode: "HTML", Plain: "up", NoPreview: true},
		{ChatID: "@channel", MessageID: 1, ReplyTo: 999, Text: "reply to a deleted message", ParseMode: "HTML", Plain: "reply to a deleted message", NoPreview: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		got[i].At = time.Time{}
		if got[i] != want[i] {
			t.Errorf("message %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if first != 1 || second != 2 {
		t.Errorf("got message ids %d, %d, want 1, 2", first, second)
	}
}

func TestEdit(t *testing.T) {
	s := telegramtest.NewServer(t, token)
	s.SetLimits(telegramtest.Limits{})
	c := newClient(t, s.URL)
	ctx := context.Background()
	id, err := c.Send(ctx, telegram.Message{ChatID: "42", Text: "🔴 <b>down</b>"})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if err := c.Edit(ctx, "42", id, "🟢 <b>resolved</b>"); err != nil {
		t.Fatalf("Edit: %v", err)
	}
	// The same content again is "message is not modified": success.
	if err := c.Edit(ctx, "42", id, "🟢 <strong>resolved</strong>"); err != nil {
		t.Fatalf("identical Edit: got %v, want nil", err)
	}
	err = c.Edit(ctx, "42", id+10, "x")
	e := checkError(t, err, telegram.ReasonBadRequest, false)
	if !strings.Contains(e.Description, "message to edit not found") {
		t.Errorf("got description %q, want message to edit not found", e.Description)
	}
	edits := s.Edits()
	if len(edits) != 1 || edits[0].Text != "🟢 <b>resolved</b>" || edits[0].MessageID != id {
		t.Errorf("got edits %+v, want one to message %d", edits, id)
	}
}

func TestErrors(t *testing.T) {
	long := strings.Repeat("x", telegram.MaxMessageLength+1)
	tests := []struct {
		name       string
		setup      func(*telegramtest.Server)
		msg        telegram.Message
		reason     string
		retry      bool
		retryAfter time.Duration
		migrateTo  string
		code       int
	}{
		{"rate limited", func(s *telegramtest.Server) { s.FailNext(1, 429, 7) }, telegram.Message{}, telegram.ReasonRateLimited, true, 7 * time.Second, "", 429},
		{"internal error", func(s *telegramtest.Server) { s.FailNext(1, 500, 0) }, telegram.Message{}, telegram.ReasonServerError, true, 0, "", 500},
		{"unreachable", func(s *telegramtest.Server) { s.SetUnreachable(true) }, telegram.Message{}, telegram.ReasonNetwork, true, 0, "", 0},
		{"down (HTML 502)", func(s *telegramtest.Server) { s.SetDown(true) }, telegram.Message{}, telegram.ReasonServerError, true, 0, "", 502},
		{"forbidden", func(s *telegramtest.Server) { s.FailNext(1, 403, 0) }, telegram.Message{}, telegram.ReasonForbidden, false, 0, "", 403},
		{"not found", func(s *telegramtest.Server) { s.FailNext(1, 404, 0) }, telegram.Message{}, telegram.ReasonNotFound, false, 0, "", 404},
		{"chat not found", func(s *telegramtest.Server) { s.AllowChats("-1") }, telegram.Message{}, telegram.ReasonBadRequest, false, 0, "", 400},
		{"migrated", func(s *telegramtest.Server) { s.MigrateChat("-5", "-1005") }, telegram.Message{}, telegram.ReasonChatMigrated, false, 0, "-1005", 400},
		{"bad html", nil, telegram.Message{Text: "a <b>b"}, telegram.ReasonParseError, false, 0, "", 400},
		{"unescaped label", nil, telegram.Message{Text: "job=<none>"}, telegram.ReasonParseError, false, 0, "", 400},
		{"too long", nil, telegram.Message{Text: long}, telegram.ReasonTooLong, false, 0, "", 400},
		{"empty", nil, telegram.Message{Text: "<b> </b>"}, telegram.ReasonBadRequest, false, 0, "", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := telegramtest.NewServer(t, token)
			if tt.setup != nil {
				tt.setup(s)
			}
			c := newClient(t, s.URL)
			m := tt.msg
			if m.ChatID == "" {
				m.ChatID = "-5"
			}
			if m.Text == "" {
				m.Text = "hello"
			}
			_, err := c.Send(context.Background(), m)
			e := checkError(t, err, tt.reason, tt.retry)
			if e.RetryAfter != tt.retryAfter || e.MigrateTo != tt.migrateTo || e.Code != tt.code {
				t.Errorf("got retry after %s, migrate to %q, code %d, want %s, %q, %d", e.RetryAfter, e.MigrateTo, e.Code, tt.retryAfter, tt.migrateTo, tt.code)
			}
			if len(s.Messages()) != 0 {
				t.Errorf("got %d messages accepted, want 0", len(s.Messages()))
			}
		})
	}
}

func TestTokenNeverShown(t *testing.T) {
	s := telegramtest.NewServer(t, token)
	// A port nothing listens on: connection refused, with the URL in the error.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + l.Addr().String()
	l.Close()
	wrong, err := telegram.New("999:wrong-"+token, s.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		client *telegram.Client
		reason string
		retry  bool
	}{
		{"connection refused", newClient(t, closedURL), telegram.ReasonNetwork, true},
		{"bad token", wrong, telegram.ReasonUnauthorized, false},
		{"wrong path", newClient(t, s.URL+"/nothing/here"), telegram.ReasonNotFound, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.client.Send(context.Background(), telegram.Message{ChatID: "1", Text: "x"})
			checkError(t, err, tt.reason, tt.retry)
			_, err = tt.client.GetMe(context.Background())
			checkError(t, err, tt.reason, tt.retry)
		})
	}
}

func TestContextCanceled(t *testing.T) {
	s := telegramtest.NewServer(t, token)
	c := newClient(t, s.URL)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Send(ctx, telegram.Message{ChatID: "1", Text: "x"})
	checkError(t, err, telegram.ReasonNetwork, true)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want errors.Is context.Canceled", err)
	}
}

func TestGetMe(t *testing.T) {
	s := telegramtest.NewServer(t, token)
	name, err := newClient(t, s.URL).GetMe(context.Background())
	if err != nil || name != telegramtest.BotUsername {
		t.Errorf("got %q, %v, want %q, nil", name, err, telegramtest.BotUsername)
	}
}

func TestChats(t *testing.T) {
	s := telegramtest.NewServer(t, token)
	s.AddUpdate(
		telegramtest.Update{ChatID: 42, Title: "Alice", Username: "alice", Text: "/start"},
		telegramtest.Update{ChatID: -1001, Title: "Ops", ThreadID: 5, Topic: "Alerts", Text: "hi"},
		telegramtest.Update{ChatID: -1001, Title: "Ops", ThreadID: 5, Topic: "Alerts", Text: "again"},
		telegramtest.Update{ChatID: -1002, ChatType: "channel", Title: "Status", Username: "status"},
		telegramtest.Update{ChatID: 42, Title: "Alice", Text: "again"},
	)
	got, err := newClient(t, s.URL).Chats(context.Background())
	if err != nil {
		t.Fatalf("Chats: %v", err)
	}
	want := []telegram.Chat{
		{ID: 42, Type: "private", Title: "Alice", Username: "alice"},
		{ID: -1001, Type: "supergroup", Title: "Ops"},
		{ID: -1001, Type: "supergroup", Title: "Ops", ThreadID: 5, Topic: "Alerts"},
		{ID: -1002, Type: "channel", Title: "Status", Username: "status"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("chat %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestNewValidatesURL(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "http://", "http://h/?q=1", "::", "http://127.0.0.1/bot" + token + "/getUpdates"} {
		if _, err := telegram.New(token, u, nil); err == nil {
			t.Errorf("New(%q): got nil error, want one", u)
		} else if strings.Contains(err.Error(), token) {
			t.Errorf("New(%q) error reveals the token: %v", u, err)
		}
	}
	if _, err := telegram.New("", "http://127.0.0.1", nil); err == nil {
		t.Error("New with empty token: got nil error, want one")
	}
}

// TestOddAnswers covers servers that are not quite the Bot API: a proxy
// answering 200 with "ok":false, an HTML 200, and one that never answers.
func TestOddAnswers(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		reason  string
		retry   bool
		after   time.Duration
	}{
		{"ok false without code", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"ok":false}`))
		}, telegram.ReasonServerError, true, 0},
		{"html 200", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`<html>captive portal for ` + r.URL.Path + `</html>`))
		}, telegram.ReasonServerError, true, 0},
		{"html 429 from a proxy", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "12")
			w.WriteHeader(429)
			_, _ = w.Write([]byte(`<html>slow down</html>`))
		}, telegram.ReasonRateLimited, true, 12 * time.Second},
		{"json 503", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(503)
			_, _ = w.Write([]byte(`{"ok":false,"error_code":503,"description":"Service Unavailable"}`))
		}, telegram.ReasonServerError, true, 0},
		{"hangs past the client timeout", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body) // then the server notices the client going away
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, telegram.ReasonNetwork, true, 0},
		{"connection reset", func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}, telegram.ReasonNetwork, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			c, err := telegram.New(token, srv.URL, &http.Client{Timeout: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Send(context.Background(), telegram.Message{ChatID: "1", Text: "x"})
			if e := checkError(t, err, tt.reason, tt.retry); e.RetryAfter != tt.after {
				t.Errorf("got retry after %s, want %s", e.RetryAfter, tt.after)
			}
		})
	}
}

func TestClientPrintsNoToken(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:9")
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if got := fmt.Sprintf(format, c); strings.Contains(got, token) {
			t.Errorf("Sprintf(%q) = %q, which contains the token", format, got)
		}
	}
}

func TestSlowTelegram(t *testing.T) {
	s := telegramtest.NewServer(t, token)
	s.SetDelay(300 * time.Millisecond)
	c := newClient(t, s.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Send(ctx, telegram.Message{ChatID: "1", Text: "x"})
	checkError(t, err, telegram.ReasonNetwork, true)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want errors.Is context.DeadlineExceeded", err)
	}
	start := time.Now()
	if _, err := c.Send(context.Background(), telegram.Message{ChatID: "1", Text: "x"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("got an answer after %s, want >= 300ms", d)
	}
	// The Bot API does not cancel a request whose client hung up: the
	// message the client gave up on was sent as well, so resending after a
	// timeout duplicates it.
	if n := len(s.WaitMessages(t, 2, 5*time.Second)); n != 2 {
		t.Errorf("got %d messages, want 2 (the abandoned one is delivered too)", n)
	}
}
