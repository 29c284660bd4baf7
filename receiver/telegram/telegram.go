// Package telegram is a small Telegram Bot API client for the receiver.
//
// It sends through github.com/go-telegram-bot-api/telegram-bot-api/v5, whose
// last release predates forum topics and reply_parameters, so every call goes
// through MakeRequest with explicit parameters. Every error it returns is an
// *Error with the retry decision made and the bot token redacted: the library's
// errors carry the request URL, which contains the token.
package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

const (
	// MaxMessageLength is Telegram's limit for one text message: 4096
	// Unicode code points of the text after HTML entity parsing and trimming
	// (tdlib counts code points; UTF-16 units are only for entity offsets).
	MaxMessageLength = 4096
	// DefaultAPIURL is the official Bot API base URL.
	DefaultAPIURL = "https://api.telegram.org"
	// maxResponseBytes bounds how much of an answer is read: a broken proxy
	// must not make the receiver buffer an unbounded body.
	maxResponseBytes = 8 << 20
	defaultTimeout   = 60 * time.Second // see delivery.Options.SendTimeout
)

// Client talks to one bot on one Bot API server. It is safe for concurrent use.
type Client struct {
	token    string
	base     string // API base URL, without the token
	endpoint string // tgbotapi endpoint format: base + "/bot%s/%s"
	hc       *http.Client
}

// String and GoString keep the token out of logs that print the client.
func (c *Client) String() string   { return "telegram.Client(" + c.base + ")" }
func (c *Client) GoString() string { return c.String() }

// New returns a client for the bot token at apiURL (for example
// DefaultAPIURL or a self-hosted Bot API server). It never contacts Telegram,
// so the receiver starts while Telegram is unreachable. A nil hc uses an
// http.Client with a 60 s timeout.
func New(token, apiURL string, hc *http.Client) (*Client, error) {
	if token == "" {
		return nil, errors.New("telegram: bot token is empty")
	}
	if strings.Contains(apiURL, token) {
		// Someone pasted a getUpdates URL; keep the token out of the error.
		return nil, fmt.Errorf("telegram: API URL must be the base URL like %s, without /bot<token>", DefaultAPIURL)
	}
	base, err := parseAPIURL(apiURL)
	if err != nil {
		return nil, err
	}
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	// The endpoint is a fmt format: a '%' in the URL (percent-encoding)
	// must not be taken for a verb.
	endpoint := strings.ReplaceAll(base, "%", "%%") + "/bot%s/%s"
	return &Client{token: token, base: base, endpoint: endpoint, hc: hc}, nil
}

func parseAPIURL(apiURL string) (string, error) {
	base := strings.TrimRight(apiURL, "/")
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("telegram: invalid API URL %q: %w", apiURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("telegram: invalid API URL %q: scheme must be http or https", apiURL)
	}
	if u.Host == "" {
		return "", fmt.Errorf("telegram: invalid API URL %q: no host", apiURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("telegram: invalid API URL %q: must not have a query or fragment", apiURL)
	}
	return base, nil
}

// call performs one Bot API method and returns its result. A BotAPI is built
// per call (it is a plain struct) so that its HTTP client can carry ctx:
// MakeRequest itself takes no context.
func (c *Client) call(ctx context.Context, method string, p tgbotapi.Params) (json.RawMessage, error) {
	d := &doer{ctx: ctx, hc: c.hc}
	bot := &tgbotapi.BotAPI{Token: c.token, Client: d, Buffer: 100}
	bot.SetAPIEndpoint(c.endpoint)
	resp, err := bot.MakeRequest(method, p)
	if err == nil {
		return resp.Result, nil
	}
	if e := c.toError(ctx, method, d, err); e != nil {
		return nil, e
	}
	return nil, nil // an error that counts as success ("message is not modified")
}

// toError turns whatever MakeRequest returned into a classified, redacted *Error.
func (c *Client) toError(ctx context.Context, method string, d *doer, err error) *Error {
	status := d.status
	var apiErr *tgbotapi.Error
	if errors.As(err, &apiErr) {
		code := apiErr.Code
		if code == 0 {
			code = status
		}
		if code >= 200 && code < 300 {
			// "ok":false without an error code: not a Bot API answer.
			return &Error{Method: method, Retry: true, Reason: ReasonServerError, Code: code, Description: c.redact(apiErr.Message)}
		}
		retryAfter := apiErr.RetryAfter
		if retryAfter == 0 {
			retryAfter = d.retryAfter
		}
		e := classify(method, code, apiErr.Message, retryAfter, apiErr.MigrateToChatID)
		if e == nil {
			return nil // "message is not modified" is success for an edit
		}
		e.Description = c.redact(e.Description)
		return e
	}
	if status != 0 {
		// An HTTP answer that is not a Bot API JSON object: a front end's
		// HTML error page (502 while Telegram restarts) or a broken proxy.
		desc := fmt.Sprintf("unexpected answer (HTTP %d %s): %s", status, http.StatusText(status), c.redact(err.Error()))
		if status >= 200 && status < 300 {
			return &Error{Method: method, Retry: true, Reason: ReasonServerError, Code: status, Description: desc}
		}
		e := classify(method, status, desc, d.retryAfter, 0)
		if e == nil {
			e = &Error{Method: method, Retry: true, Reason: ReasonServerError, Code: status, Description: desc}
		}
		return e
	}
	e := &Error{Method: method, Retry: true, Reason: ReasonNetwork, Description: c.redact(err.Error())}
	if ctxErr := ctx.Err(); ctxErr != nil {
		e.Description = ctxErr.Error()
		e.err = ctxErr
	}
	return e
}

// redact removes the token from s in every form it may take in a URL.
func (c *Client) redact(s string) string {
	for _, form := range []string{c.token, url.PathEscape(c.token), url.QueryEscape(c.token)} {
		if form != "" {
			s = strings.ReplaceAll(s, form, "<redacted>")
		}
	}
	return s
}

// doer binds one call's context to the shared http.Client and remembers the
// HTTP status and Retry-After header, which tgbotapi drops: a proxy in front
// of the Bot API may answer 429 or 503 with an HTML page.
type doer struct {
	ctx        context.Context
	hc         *http.Client
	status     int
	retryAfter int // seconds, from the Retry-After header
}

func (d *doer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.hc.Do(req.WithContext(d.ctx))
	if err != nil {
		return nil, err
	}
	d.status = resp.StatusCode
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		d.retryAfter = secs
	}
	resp.Body = limitedBody{io.LimitReader(resp.Body, maxResponseBytes), resp.Body}
	return resp, nil
}

type limitedBody struct {
	io.Reader
	io.Closer
}
