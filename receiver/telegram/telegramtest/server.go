// Package telegramtest is a fake Telegram Bot API server for tests: an
// httptest.Server on 127.0.0.1 (or any listener, NewServerOn) whose URL is
// the receiver's --telegram.api-url.
//
// It behaves like the real Bot API where the receiver can tell:
//   - /bot<token>/<method>: a wrong token answers 401 "Unauthorized", an
//     unknown method 404 "Not Found"; method names are case-insensitive.
//   - getMe, sendMessage, editMessageText, getUpdates; parameters
//     form-encoded, multipart, as a query string or as a JSON object.
//   - parse_mode=HTML is parsed like tdlib does (see ParseHTML): 400
//     "Bad Request: can't parse entities: ..." on bad HTML; the text after
//     parsing and trimming is limited to 4096 code points (400 "Bad Request:
//     message is too long"); empty text is 400 "Bad Request: message text is
//     empty".
//   - Flood limits (DefaultLimits, SetLimits) on sendMessage and
//     editMessageText answer 429 with parameters.retry_after.
//   - editMessageText: 400 "message to edit not found", and "message is not
//     modified: ..." when text and entities are unchanged.
//   - reply_parameters (or reply_to_message_id) to a missing message is 400
//     "message to be replied not found" unless allow_sending_without_reply.
//   - message_thread_id: topics exist only in forums (SetForum); an unknown
//     topic and the General topic's explicit id 1 are 400 "Bad Request:
//     message thread not found"; in a group or channel without topics the
//     thread id is ignored, in a private chat without topics it is "not found".
//   - Acting from the chat: reply_markup (inline keyboards, validated) on
//     sendMessage and editMessageText (an edit without it removes the
//     keyboard, as in Telegram), editMessageReplyMarkup; getUpdates with
//     offset, long-poll timeout and allowed_updates, a newer getUpdates
//     terminating a waiting one with 409 "Conflict: terminated by other
//     getUpdates request"; answerCallbackQuery for a query id that exists,
//     once (else 400 "query is too old ... or query ID is invalid");
//     setMyCommands.
//   - setWebhook, deleteWebhook, getWebhookInfo (webhook.go): while a
//     webhook is set getUpdates answers 409 "Conflict: can't use getUpdates
//     method while webhook is active; ..."; setting one terminates a
//     waiting getUpdates with 409 "Conflict: terminated by setWebhook
//     request". Updates are not delivered to the webhook URL.
//
// Controls: AddCallback, AddCommand (updates from users), SetDown (502 HTML page), SetUnreachable (connections dropped),
// SetDelay, FailNext, MigrateChat, AllowChats ("chat not found"), AddUpdate;
// SetWebhookDirectly; observations: Webhook, Messages, Edits, WaitMessages, WaitEdits, Calls, Answers,
// WaitAnswers, Commands, Conflicts, Markup, PendingUpdates,
// TooManyRequests. Message ids count from 1 in each chat.
package telegramtest

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// BotUsername is the username getMe reports.
const BotUsername = "downtime_test_bot"

// Sent is a message the fake accepted.
type Sent struct {
	ChatID    string
	ThreadID  int // the topic the message went to (0: none, or General)
	MessageID int
	ReplyTo   int    // the message id asked for in reply_parameters or reply_to_message_id
	Text      string // text as sent (HTML when ParseMode is HTML)
	Silent    bool
	// Extensions to the contract.
	ParseMode string
	Plain     string // text after entity parsing, as a user sees it
	NoPreview bool   // link previews disabled
	Markup    string // reply_markup as normalised JSON ("" for none)
	At        time.Time
}

// Edited is an accepted editMessageText.
type Edited struct {
	ChatID    string
	MessageID int
	Markup    string // reply_markup as normalised JSON ("" for none)
	Text      string
	ParseMode string
	Plain     string
	At        time.Time
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	URL   string // base URL: the receiver's --telegram.api-url
	Token string

	srv *httptest.Server

	mu          sync.Mutex
	changed     chan struct{} // closed and replaced whenever messages or edits change
	down        bool
	unreachable bool
	delay       time.Duration
	slow        slowNext
	fail        failure
	migrated    map[string]string
	forums      map[string]map[int]bool // chat -> its topics
	allowed     map[string]bool         // nil: every chat exists
	limits      limiter
	tooMany     int
	calls       map[string]int
	sent        []Sent
	edits       []Edited
	content     map[msgKey]content // current text of each message
	nextID      map[string]int
	updates     []json.RawMessage
	updateID    int
	// Acting from the chat (callbacks.go).
	queryID     int
	queries     map[string]bool // callback query id -> answered
	answers     []Answer
	commands    []string
	pollGen     int // the newest getUpdates; an older one still waiting gets 409
	conflicts   int
	markupEdits int
	webhook     *Webhook      // set by setWebhook (webhook.go); nil: none
	webhookSets int           // setWebhook calls that set one
	closing     chan struct{} // closed by Close: long polls return
	closeOnce   sync.Once
}

type failure struct{ n, code, retryAfter int }

type slowNext struct {
	n int
	d time.Duration
}

type msgKey struct {
	chat string
	id   int
}

type content struct {
	plain    string
	entities []Entity
	markup   string // reply_markup as normalised JSON ("" for none)
}

// NewServer starts a fake on 127.0.0.1 that is closed when the test ends.
func NewServer(t testing.TB, token string) *Server {
	t.Helper()
	s := newServer(token)
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	t.Cleanup(s.Close)
	return s
}

// NewServerOn starts a fake on l (for example a listener inside a network
// namespace). The caller closes it with Close.
func NewServerOn(l net.Listener, token string) *Server {
	s := newServer(token)
	// Not NewUnstartedServer: it would first bind 127.0.0.1, which may not
	// exist where l lives.
	s.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: s}}
	s.srv.Start()
	s.URL = s.srv.URL
	return s
}

func newServer(token string) *Server {
	return &Server{
		Token:    token,
		changed:  make(chan struct{}),
		closing:  make(chan struct{}),
		migrated: map[string]string{},
		forums:   map[string]map[int]bool{},
		limits:   limiter{limits: DefaultLimits()},
		calls:    map[string]int{},
		content:  map[msgKey]content{},
		nextID:   map[string]int{},
	}
}

// Close stops the server and closes its connections; long polls return
// at once.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
	s.srv.Close()
}

// SetDown makes every request answer 502 Bad Gateway with an HTML page, as
// Telegram's front end does while the Bot API is unavailable.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// SetUnreachable makes the server drop every connection without an answer,
// so clients see a network error rather than a 502.
func (s *Server) SetUnreachable(unreachable bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unreachable = unreachable
}

// SetDelay makes every request wait d before it is processed (a slow
// Telegram), so tests can catch a send in flight, e.g. during a graceful
// shutdown. As with the real Bot API, a client that hangs up meanwhile does
// not cancel the request: the message is sent, only the answer is lost.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// DelayNext makes the next n requests wait d before they are processed, on
// top of SetDelay; like SetDelay, a client that hangs up does not cancel them.
func (s *Server) DelayNext(n int, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slow = slowNext{n: n, d: d}
}

// FailNext makes the next n sendMessage/editMessageText requests fail with
// code (429 carries retry_after seconds). getMe and getUpdates are not
// affected, so a test's injected failures are not used up by probes.
func (s *Server) FailNext(n, code, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = failure{n: n, code: code, retryAfter: retryAfter}
}

// MigrateChat makes messages to chat from fail with migrate_to_chat_id=to,
// as after a group was upgraded to a supergroup. to must be a numeric id.
func (s *Server) MigrateChat(from, to string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.migrated[from] = to
	if s.allowed != nil {
		s.allowed[to] = true
	}
}

// SetForum makes chat a forum supergroup (or a private chat with topics)
// whose topics are the given thread ids, and adds them if it already is one.
// The General topic (thread id 1) is always there but, as in Telegram, only
// reached without a message_thread_id: an explicit 1, like an unknown topic,
// is 400 "Bad Request: message thread not found". Without SetForum a chat
// has no topics: a thread id is ignored in a group or channel and "not
// found" in a private chat, as by the Bot API.
func (s *Server) SetForum(chat string, topics ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.forums[chat] == nil {
		s.forums[chat] = map[int]bool{}
	}
	for _, t := range topics {
		s.forums[chat][t] = true
	}
}

// AllowChats makes every other chat answer "Bad Request: chat not found".
// Without a call every chat exists.
func (s *Server) AllowChats(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.allowed == nil {
		s.allowed = map[string]bool{}
	}
	for _, id := range ids {
		s.allowed[id] = true
	}
}

// SetLimits replaces the flood limits (DefaultLimits unless set); Limits{}
// turns them off.
func (s *Server) SetLimits(l Limits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = limiter{limits: l}
}

// TooManyRequests is how many 429 answers the fake gave, flood limits and
// injected ones alike.
func (s *Server) TooManyRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tooMany
}

// Calls is how many requests with a valid token reached method (any case).
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[strings.ToLower(method)]
}

// Messages returns the accepted messages in order.
func (s *Server) Messages() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

// Edits returns the accepted edits in order.
func (s *Server) Edits() []Edited {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Edited(nil), s.edits...)
}

// WaitMessages waits until at least n messages were accepted and returns
// them all; it fails the test after timeout.
func (s *Server) WaitMessages(t testing.TB, n int, timeout time.Duration) []Sent {
	t.Helper()
	if !s.wait(func() bool { return len(s.sent) >= n }, timeout) {
		t.Fatalf("telegramtest: got %d messages after %s, want %d", len(s.Messages()), timeout, n)
	}
	return s.Messages()
}

// WaitEdits waits until at least n edits were accepted and returns them all;
// it fails the test after timeout.
func (s *Server) WaitEdits(t testing.TB, n int, timeout time.Duration) []Edited {
	t.Helper()
	if !s.wait(func() bool { return len(s.edits) >= n }, timeout) {
		t.Fatalf("telegramtest: got %d edits after %s, want %d", len(s.Edits()), timeout, n)
	}
	return s.Edits()
}

func (s *Server) wait(done func() bool, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ok, changed := done(), s.changed
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-changed:
		case <-deadline.C:
			return false
		}
	}
}

// notify wakes waiters; s.mu is held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}
