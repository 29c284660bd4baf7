package telegramtest

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// User is a Telegram user who presses buttons or writes commands.
type User struct {
	ID       int64
	Username string // without "@"
}

// Press is a button press to inject with AddCallback.
type Press struct {
	From      User
	ChatID    string // the chat of the message the button is on
	MessageID int
	Data      string
}

// Answer is an accepted answerCallbackQuery.
type Answer struct {
	QueryID string
	Text    string
}

// AddCallback queues a callback_query update, as if From pressed a button
// with Data on message MessageID in ChatID, and returns the query id that
// answerCallbackQuery must answer (once).
func (s *Server) AddCallback(p Press) string {
	s.mu.Lock()
	s.queryID++
	id := strconv.FormatInt(int64(4200000000+s.queryID), 10)
	if s.queries == nil {
		s.queries = map[string]bool{}
	}
	s.queries[id] = false
	chatID, _ := strconv.ParseInt(p.ChatID, 10, 64)
	chat := chatObject(p.ChatID)
	chat["id"] = chatID
	msg := map[string]any{"message_id": p.MessageID, "date": time.Now().Unix(), "chat": chat,
		"from": map[string]any{"id": 1, "is_bot": true, "first_name": "Downtime Test", "username": BotUsername}}
	if c, ok := s.content[msgKey{p.ChatID, p.MessageID}]; ok {
		msg["text"] = c.plain
	}
	s.mu.Unlock()
	raw, _ := json.Marshal(map[string]any{"callback_query": map[string]any{
		"id": id, "from": userObject(p.From), "chat_instance": "1", "data": p.Data, "message": msg}})
	s.AddRawUpdate(raw)
	return id
}

// AddCommand queues a message update with text (a command) from a user in
// chat (and forum topic thread, 0 for none).
func (s *Server) AddCommand(from User, chat string, thread int, text string) {
	chatID, _ := strconv.ParseInt(chat, 10, 64)
	c := chatObject(chat)
	c["id"] = chatID
	msg := map[string]any{"message_id": 900, "date": time.Now().Unix(), "chat": c, "from": userObject(from), "text": text}
	if strings.HasPrefix(text, "/") {
		end := strings.IndexAny(text, " \n")
		if end < 0 {
			end = len(text)
		}
		msg["entities"] = []map[string]any{{"type": "bot_command", "offset": 0, "length": end}}
	}
	if thread != 0 {
		c["is_forum"] = true
		msg["message_thread_id"], msg["is_topic_message"] = thread, true
	}
	raw, _ := json.Marshal(map[string]any{"message": msg})
	s.AddRawUpdate(raw)
}

func userObject(u User) map[string]any {
	m := map[string]any{"id": u.ID, "is_bot": false, "first_name": "User"}
	if u.Username != "" {
		m["username"] = u.Username
	}
	return m
}

// Answers returns the accepted answerCallbackQuery calls in order.
func (s *Server) Answers() []Answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Answer(nil), s.answers...)
}

// WaitAnswers waits until at least n callback queries were answered.
func (s *Server) WaitAnswers(t interface {
	Helper()
	Fatalf(string, ...any)
}, n int, timeout time.Duration) []Answer {
	t.Helper()
	if !s.wait(func() bool { return len(s.answers) >= n }, timeout) {
		t.Fatalf("telegramtest: got %d callback answers after %s, want %d", len(s.Answers()), timeout, n)
	}
	return s.Answers()
}

// Commands returns the commands last set with setMyCommands.
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...)
}

// Conflicts is how many getUpdates requests were terminated with 409.
func (s *Server) Conflicts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conflicts
}

// Polls returns how many getUpdates calls have started waiting: the order
// that decides which of two overlapping polls is terminated (the older),
// which the count of calls received does not give.
func (s *Server) Polls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.pollGen)
}

// Markup returns the inline keyboard a message carries now (as sent or
// last edited), as Bot API JSON; "" when it has none.
func (s *Server) Markup(chat string, id int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.content[msgKey{chat, id}].markup
}

func (s *Server) answerCallbackQuery(p map[string]string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := p["callback_query_id"]
	answered, ok := s.queries[id]
	if !ok || answered {
		return nil, badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	if len([]rune(p["text"])) > 200 {
		return nil, badRequest("MESSAGE_TOO_LONG")
	}
	s.queries[id] = true
	s.answers = append(s.answers, Answer{QueryID: id, Text: p["text"]})
	s.notify()
	return true, nil
}

func (s *Server) setMyCommands(p map[string]string) (any, *apiError) {
	var cmds []struct {
		Command     string `json:"command"`
		Description string `json:"description"`
	}
	if err := json.Unmarshal([]byte(p["commands"]), &cmds); err != nil {
		return nil, badRequest("can't parse commands JSON object")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commands = nil
	for _, c := range cmds {
		if c.Command == "" || c.Description == "" {
			return nil, badRequest("command and description must be non-empty")
		}
		s.commands = append(s.commands, c.Command)
	}
	s.notify()
	return true, nil
}

// normMarkup validates reply_markup (an inline keyboard) and returns it
// re-encoded ("" for none or an empty keyboard).
func normMarkup(raw string) (string, *apiError) {
	if raw == "" {
		return "", nil
	}
	var m struct {
		InlineKeyboard [][]struct {
			Text         string  `json:"text"`
			URL          *string `json:"url"`
			CallbackData *string `json:"callback_data"`
		} `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return "", badRequest("can't parse reply keyboard markup JSON object")
	}
	if len(m.InlineKeyboard) == 0 {
		return "", nil
	}
	for _, row := range m.InlineKeyboard {
		for _, b := range row {
			switch {
			case b.Text == "":
				return "", badRequest("text buttons are unallowed in the inline keyboard")
			case b.CallbackData != nil && (len(*b.CallbackData) == 0 || len(*b.CallbackData) > 64):
				return "", badRequest("BUTTON_DATA_INVALID")
			case b.URL != nil && !strings.HasPrefix(*b.URL, "http://") && !strings.HasPrefix(*b.URL, "https://"):
				return "", badRequest("BUTTON_URL_INVALID")
			case b.URL == nil && b.CallbackData == nil:
				return "", badRequest("BUTTON_TYPE_INVALID")
			}
		}
	}
	out, _ := json.Marshal(m)
	return string(out), nil
}

// editMessageReplyMarkup replaces a message's keyboard.
func (s *Server) editMessageReplyMarkup(p map[string]string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	chat := p["chat_id"]
	if e := s.checkChat(chat); e != nil {
		return nil, e
	}
	id, ok := intParam(p["message_id"])
	if !ok || id == 0 {
		return nil, badRequest("message identifier is not specified")
	}
	markup, e := normMarkup(p["reply_markup"])
	if e != nil {
		return nil, e
	}
	key := msgKey{chat, int(id)}
	old, exists := s.content[key]
	if !exists {
		return nil, badRequest("message to edit not found")
	}
	if old.markup == markup {
		return nil, badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
	}
	old.markup = markup
	s.content[key] = old
	s.markupEdits++
	s.notify()
	return true, nil
}
