package telegram

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Reasons, used as a metric label by the receiver.
const (
	ReasonRateLimited  = "rate_limited"
	ReasonServerError  = "server_error"
	ReasonNetwork      = "network"
	ReasonBadRequest   = "bad_request"
	ReasonParseError   = "parse_error"
	ReasonTooLong      = "too_long"
	ReasonUnauthorized = "unauthorized"
	ReasonForbidden    = "forbidden"
	ReasonNotFound     = "not_found"
	ReasonChatMigrated = "chat_migrated"
)

// Reasons lists every Reason value, so that metrics can create their label
// values up front.
func Reasons() []string {
	return []string{ReasonRateLimited, ReasonServerError, ReasonNetwork, ReasonBadRequest, ReasonParseError,
		ReasonTooLong, ReasonUnauthorized, ReasonForbidden, ReasonNotFound, ReasonChatMigrated}
}

// Error is every error the client returns. It never contains the bot token.
type Error struct {
	// Retry says the same request may succeed later: rate limits, 5xx and
	// network errors. Everything else is permanent, except chat_migrated,
	// where the request must be resent to MigrateTo (Retry is false).
	Retry bool
	// Reason is one of the Reason* constants.
	Reason string
	// RetryAfter is Telegram's parameters.retry_after (429), 0 when not given.
	RetryAfter time.Duration
	// MigrateTo is the new chat id when a group became a supergroup.
	MigrateTo string
	// Code is the Bot API error_code or HTTP status, 0 for network errors.
	Code int
	// Description is Telegram's description, or the network error, redacted.
	Description string
	// Method is the Bot API method that failed (extension to the contract).
	Method string

	err error // context.Canceled or DeadlineExceeded, for errors.Is; never holds the token
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "telegram %s: %s", e.Method, e.Reason)
	if e.Code != 0 {
		fmt.Fprintf(&b, " (%d)", e.Code)
	}
	if e.Description != "" {
		fmt.Fprintf(&b, ": %s", e.Description)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.MigrateTo != "" {
		fmt.Fprintf(&b, " (migrated to chat %s)", e.MigrateTo)
	}
	return b.String()
}

// Unwrap exposes a context error so errors.Is(err, context.Canceled) works.
func (e *Error) Unwrap() error { return e.err }

var retryAfterRe = regexp.MustCompile(`retry after (\d+)`)

// classify decides what a failed Bot API answer means. code is the
// error_code (or HTTP status), retryAfter and migrateTo come from the
// answer's parameters. It returns nil when the answer counts as success.
func classify(method string, code int, description string, retryAfter int, migrateTo int64) *Error {
	if code >= 200 && code < 300 {
		return nil
	}
	lower := strings.ToLower(description)
	e := &Error{Method: method, Code: code, Description: description}
	switch {
	case code == 429:
		e.Retry, e.Reason = true, ReasonRateLimited
		if retryAfter == 0 {
			// Older front ends only say it in the description.
			if m := retryAfterRe.FindStringSubmatch(lower); m != nil {
				retryAfter, _ = strconv.Atoi(m[1])
			}
		}
		e.RetryAfter = time.Duration(retryAfter) * time.Second
	case code >= 500 || code < 400:
		e.Retry, e.Reason = true, ReasonServerError
	case migrateTo != 0:
		e.Reason, e.MigrateTo = ReasonChatMigrated, strconv.FormatInt(migrateTo, 10)
	case code == 401:
		e.Reason = ReasonUnauthorized
	case code == 403:
		e.Reason = ReasonForbidden
	case code == 404:
		e.Reason = ReasonNotFound
	case strings.Contains(lower, "message is not modified"):
		if method == "editMessageText" {
			return nil
		}
		e.Reason = ReasonBadRequest
	case strings.Contains(lower, "can't parse entities"):
		e.Reason = ReasonParseError
	case strings.Contains(lower, "message is too long") || strings.Contains(lower, "message_too_long"):
		e.Reason = ReasonTooLong
	default:
		e.Reason = ReasonBadRequest
	}
	return e
}
