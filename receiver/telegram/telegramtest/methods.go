package telegramtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxLength is Telegram's message limit (its option message_text_length_max,
// 4096 or more), counted as tdlib does (td/telegram/MessageContent.cpp): in
// Unicode code points of the text after entity parsing and trimming, not in
// UTF-16 units (those are for entity offsets) nor in bytes of the HTML.
const maxLength = 4096

// apiError is a Bot API error answer.
type apiError struct {
	code       int
	desc       string
	retryAfter int
	migrateTo  int64
}

func badRequest(format string, args ...any) *apiError {
	return &apiError{code: 400, desc: "Bad Request: " + fmt.Sprintf(format, args...)}
}

const badGateway = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n" +
	"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"

// ServeHTTP answers /bot<token>/<method> like the Bot API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.outage(w, r) {
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, _ := strings.Cut(rest, "/")
	if !ok || method == "" {
		writeError(w, &apiError{code: 404, desc: "Not Found"})
		return
	}
	if token != s.Token {
		writeError(w, &apiError{code: 401, desc: "Unauthorized"})
		return
	}
	method = strings.ToLower(method) // the Bot API ignores the case of method names
	handler := s.handler(method)
	if handler == nil {
		writeError(w, &apiError{code: 404, desc: "Not Found"})
		return
	}
	s.mu.Lock()
	s.calls[method]++
	s.mu.Unlock()
	params, ok := decodeParams(w, r)
	if !ok {
		writeError(w, badRequest("can't parse request JSON object"))
		return
	}
	var result any
	var apiErr *apiError
	if method == "getupdates" {
		// A long poll ends when its client hangs up or the fake closes.
		result, apiErr = s.getUpdates(r.Context(), params)
	} else {
		result, apiErr = handler(params)
	}
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "result": result})
}

// outage applies SetDelay, DelayNext, SetUnreachable and SetDown; it reports whether
// it answered the request.
func (s *Server) outage(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	down, unreachable, delay := s.down, s.unreachable, s.delay
	if s.slow.n > 0 {
		s.slow.n--
		delay += s.slow.d
	}
	s.mu.Unlock()
	if delay > 0 {
		// The request is read first, as the Bot API reads it whole before
		// it starts. Like the Bot API, the request is processed even if the client
		// gives up meanwhile: only the answer is lost. So a client timeout
		// does not mean the message was not sent.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
		if err != nil {
			return true
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		time.Sleep(delay)
	}
	switch {
	case unreachable:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return true
	case down:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, badGateway)
		return true
	}
	return false
}

func (s *Server) handler(method string) func(map[string]string) (any, *apiError) {
	switch method {
	case "getme":
		return s.getMe
	case "sendmessage":
		return s.sendMessage
	case "editmessagetext":
		return s.editMessageText
	case "getupdates":
		return func(map[string]string) (any, *apiError) { return nil, nil } // ServeHTTP calls getUpdates with the request's context
	case "answercallbackquery":
		return s.answerCallbackQuery
	case "editmessagereplymarkup":
		return s.editMessageReplyMarkup
	case "setmycommands":
		return s.setMyCommands
	case "setwebhook":
		return s.setWebhook
	case "deletewebhook":
		return s.deleteWebhook
	case "getwebhookinfo":
		return s.getWebhookInfo
	}
	return nil
}

func writeError(w http.ResponseWriter, e *apiError) {
	body := map[string]any{"ok": false, "error_code": e.code, "description": e.desc}
	params := map[string]any{}
	if e.retryAfter > 0 {
		params["retry_after"] = e.retryAfter
	}
	if e.migrateTo != 0 {
		params["migrate_to_chat_id"] = e.migrateTo
	}
	if len(params) > 0 {
		body["parameters"] = params
	}
	writeJSON(w, e.code, body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) getMe(map[string]string) (any, *apiError) {
	id, _ := strconv.ParseInt(strings.SplitN(s.Token, ":", 2)[0], 10, 64)
	return map[string]any{
		"id": id, "is_bot": true, "first_name": "Downtime Test", "username": BotUsername,
		"can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false,
	}, nil
}

// text is a validated message text.
type text struct {
	raw, parseMode, plain string
	entities              []Entity
}

// parseText validates text and parse_mode as Telegram does.
func parseText(raw, parseMode string) (text, *apiError) {
	t := text{raw: raw, parseMode: parseMode, plain: raw}
	if !utf8.ValidString(raw) {
		return t, badRequest("strings must be encoded in UTF-8")
	}
	switch strings.ToLower(parseMode) {
	case "html":
		plain, ents, err := ParseHTML(raw)
		if err != nil {
			return t, badRequest("can't parse entities: %s", err)
		}
		t.plain, t.entities = plain, ents
	case "", "markdown", "markdownv2":
		// Not validated: the receiver only sends HTML.
	default:
		return t, badRequest("unsupported parse_mode")
	}
	trimmed := strings.TrimSpace(t.plain)
	if trimmed == "" {
		return t, badRequest("message text is empty")
	}
	if utf8.RuneCountInString(trimmed) > maxLength {
		return t, badRequest("message is too long")
	}
	return t, nil
}

// checkChat applies migrations and the allow-list; s.mu is held.
func (s *Server) checkChat(chat string) *apiError {
	if chat == "" {
		return badRequest("chat_id is empty")
	}
	if to, ok := s.migrated[chat]; ok {
		e := badRequest("group chat was upgraded to a supergroup chat")
		e.migrateTo, _ = strconv.ParseInt(to, 10, 64)
		return e
	}
	if s.allowed != nil && !s.allowed[chat] {
		return badRequest("chat not found")
	}
	return nil
}

// injected returns the failure set by FailNext, if any is left; s.mu is held.
func (s *Server) injected() *apiError {
	if s.fail.n <= 0 {
		return nil
	}
	s.fail.n--
	e := &apiError{code: s.fail.code, desc: http.StatusText(s.fail.code)}
	switch s.fail.code {
	case 400:
		e.desc = "Bad Request: injected failure"
	case 403:
		e.desc = "Forbidden: bot was blocked by the user"
	case 404:
		e.desc = "Not Found"
	case 429:
		e.retryAfter = s.fail.retryAfter
		e.desc = fmt.Sprintf("Too Many Requests: retry after %d", s.fail.retryAfter)
		s.tooMany++
	}
	return e
}

// flood applies the flood limits to a message for chat; s.mu is held.
func (s *Server) flood(chat string, now time.Time) *apiError {
	group := strings.HasPrefix(chat, "-") || strings.HasPrefix(chat, "@")
	wait := s.limits.allow(chat, group, now)
	if wait <= 0 {
		return nil
	}
	s.tooMany++
	secs := int((wait + time.Second - 1) / time.Second)
	return &apiError{code: 429, desc: fmt.Sprintf("Too Many Requests: retry after %d", secs), retryAfter: secs}
}
