package telegram

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

func TestClassify(t *testing.T) {
	const notModified = "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"
	tests := []struct {
		name       string
		method     string
		code       int
		desc       string
		retryAfter int
		migrateTo  int64
		want       *Error // nil: success
	}{
		{"ok", "sendMessage", 200, "", 0, 0, nil},
		{"rate limited", "sendMessage", 429, "Too Many Requests: retry after 35", 35, 0,
			&Error{Retry: true, Reason: ReasonRateLimited, RetryAfter: 35 * time.Second}},
		{"rate limited, retry_after only in text", "sendMessage", 429, "Too Many Requests: retry after 3", 0, 0,
			&Error{Retry: true, Reason: ReasonRateLimited, RetryAfter: 3 * time.Second}},
		{"rate limited, no hint", "sendMessage", 429, "Too Many Requests", 0, 0,
			&Error{Retry: true, Reason: ReasonRateLimited}},
		{"internal error", "sendMessage", 500, "Internal Server Error", 0, 0, &Error{Retry: true, Reason: ReasonServerError}},
		{"bad gateway", "sendMessage", 502, "Bad Gateway", 0, 0, &Error{Retry: true, Reason: ReasonServerError}},
		{"gateway timeout", "editMessageText", 504, "Gateway Timeout", 0, 0, &Error{Retry: true, Reason: ReasonServerError}},
		{"not modified on edit", "editMessageText", 400, notModified, 0, 0, nil},
		{"not modified elsewhere", "sendMessage", 400, notModified, 0, 0, &Error{Reason: ReasonBadRequest}},
		{"migrated", "sendMessage", 400, "Bad Request: group chat was upgraded to a supergroup chat", 0, -1001234,
			&Error{Reason: ReasonChatMigrated, MigrateTo: "-1001234"}},
		{"parse error", "sendMessage", 400, `Bad Request: can't parse entities: Unsupported start tag "x" at byte offset 3`, 0, 0,
			&Error{Reason: ReasonParseError}},
		{"too long", "sendMessage", 400, "Bad Request: message is too long", 0, 0, &Error{Reason: ReasonTooLong}},
		{"too long on edit", "editMessageText", 400, "Bad Request: MESSAGE_TOO_LONG", 0, 0, &Error{Reason: ReasonTooLong}},
		{"chat not found", "sendMessage", 400, "Bad Request: chat not found", 0, 0, &Error{Reason: ReasonBadRequest}},
		{"edit target gone", "editMessageText", 400, "Bad Request: message to edit not found", 0, 0, &Error{Reason: ReasonBadRequest}},
		{"unauthorized", "getMe", 401, "Unauthorized", 0, 0, &Error{Reason: ReasonUnauthorized}},
		{"forbidden", "sendMessage", 403, "Forbidden: bot was kicked from the group chat", 0, 0, &Error{Reason: ReasonForbidden}},
		{"not found", "sendMessage", 404, "Not Found", 0, 0, &Error{Reason: ReasonNotFound}},
		{"conflict", "getUpdates", 409, "Conflict: can't use getUpdates method while webhook is active", 0, 0, &Error{Reason: ReasonBadRequest}},
		{"redirect", "sendMessage", 302, "Found", 0, 0, &Error{Retry: true, Reason: ReasonServerError}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.method, tt.code, tt.desc, tt.retryAfter, tt.migrateTo)
			if tt.want == nil {
				if got != nil {
					t.Fatalf("got %v, want success", got)
				}
				return
			}
			if got == nil {
				t.Fatalf("got success, want %s", tt.want.Reason)
			}
			tt.want.Method, tt.want.Code, tt.want.Description = tt.method, tt.code, tt.desc
			if *got != *tt.want {
				t.Errorf("got %+v, want %+v", *got, *tt.want)
			}
		})
	}
}

// TestToErrorRedacts feeds the kinds of errors tgbotapi and net/http return
// through toError and checks that the token never survives.
func TestToErrorRedacts(t *testing.T) {
	c, err := New("123:tok/en+with%chars", "http://127.0.0.1:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	forms := []string{c.token, url.PathEscape(c.token), url.QueryEscape(c.token)}
	tests := []struct {
		name   string
		status int
		err    error
		reason string
	}{
		{"url error", 0, &url.Error{Op: "Post", URL: "http://127.0.0.1:1/bot" + c.token + "/sendMessage", Err: errors.New("connection refused")}, ReasonNetwork},
		{"escaped url error", 0, &url.Error{Op: "Post", URL: "http://127.0.0.1:1/bot" + url.PathEscape(c.token) + "/sendMessage", Err: errors.New("EOF")}, ReasonNetwork},
		{"api error echoing the token", 400, &tgbotapi.Error{Code: 400, Message: "Bad Request: " + c.token}, ReasonBadRequest},
		{"undecodable body", 502, fmt.Errorf("decoding %s: %w", c.token, errors.New("invalid character")), ReasonServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := c.toError(context.Background(), "sendMessage", &doer{status: tt.status}, tt.err)
			if e == nil || e.Reason != tt.reason {
				t.Fatalf("got %v, want reason %s", e, tt.reason)
			}
			for _, f := range forms {
				if strings.Contains(e.Error(), f) {
					t.Errorf("got %q, which contains the token as %q", e.Error(), f)
				}
			}
			if !strings.Contains(e.Error(), "<redacted>") {
				t.Errorf("got %q, want <redacted> in place of the token", e.Error())
			}
		})
	}
}

func TestCanceledUnwraps(t *testing.T) {
	c, err := New("1:x", "http://127.0.0.1:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	<-ctx.Done()
	e := c.toError(ctx, "getMe", &doer{}, errors.New("whatever"))
	if !errors.Is(e, context.DeadlineExceeded) || !e.Retry {
		t.Errorf("got %v (retry %v), want a retryable error matching context.DeadlineExceeded", e, e.Retry)
	}
}

func TestReasonsComplete(t *testing.T) {
	if got := len(Reasons()); got != 10 {
		t.Errorf("got %d reasons, want 10", got)
	}
}
