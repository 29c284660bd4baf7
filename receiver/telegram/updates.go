package telegram

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// User is who pressed a button or wrote a command.
type User struct {
	ID       int64
	Username string
}

// CallbackQuery is a button press.
type CallbackQuery struct {
	ID   string
	From User
	Data string
	// The message the button is on (zero for inline-mode messages).
	ChatID       int64
	ChatUsername string
	MessageID    int
	ThreadID     int
}

// IncomingMessage is a message to the bot (commands).
type IncomingMessage struct {
	MessageID int
	ChatID    int64
	ThreadID  int // forum topic (0: none or General)
	From      User
	Text      string
}

// Update is one getUpdates entry; at most one of its fields is set (other
// kinds are ignored).
type Update struct {
	ID       int
	Callback *CallbackQuery
	Message  *IncomingMessage
}

// AllowedUpdates are the update kinds the receiver asks for.
var AllowedUpdates = []string{"message", "callback_query"}

// ParseUpdate decodes one Update object (getUpdates entry or webhook body).
func ParseUpdate(raw []byte) (Update, error) {
	var u struct {
		UpdateID      int          `json:"update_id"`
		Message       *wireMessage `json:"message"`
		CallbackQuery *struct {
			ID      string       `json:"id"`
			From    wireUser     `json:"from"`
			Data    string       `json:"data"`
			Message *wireMessage `json:"message"`
		} `json:"callback_query"`
	}
	if err := json.Unmarshal(raw, &u); err != nil {
		return Update{}, err
	}
	out := Update{ID: u.UpdateID}
	if m := u.Message; m != nil {
		out.Message = &IncomingMessage{MessageID: m.MessageID, ChatID: m.Chat.ID, ThreadID: m.thread(),
			From: m.From.user(), Text: m.Text}
	}
	if q := u.CallbackQuery; q != nil {
		cb := &CallbackQuery{ID: q.ID, From: q.From.user(), Data: q.Data}
		if m := q.Message; m != nil {
			cb.ChatID, cb.ChatUsername, cb.MessageID, cb.ThreadID = m.Chat.ID, m.Chat.Username, m.MessageID, m.thread()
		}
		out.Callback = cb
	}
	return out, nil
}

type wireUser struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

func (u wireUser) user() User { return User(u) }

type wireMessage struct {
	MessageID       int      `json:"message_id"`
	Chat            tgChat   `json:"chat"`
	From            wireUser `json:"from"`
	Text            string   `json:"text"`
	MessageThreadID int      `json:"message_thread_id"`
	IsTopicMessage  bool     `json:"is_topic_message"`
}

// thread is the topic to answer in: only a forum topic message's thread id
// (a reply thread id in a non-forum group is not a topic).
func (m *wireMessage) thread() int {
	if m.IsTopicMessage {
		return m.MessageThreadID
	}
	return 0
}

// GetUpdates long-polls for updates from offset, waiting up to timeout.
// A 409 (another getUpdates or a webhook) is an *Error with Code 409.
func (c *Client) GetUpdates(ctx context.Context, offset int, timeout time.Duration) ([]Update, error) {
	allowed, _ := json.Marshal(AllowedUpdates)
	res, err := c.call(ctx, "getUpdates", tgbotapi.Params{"offset": strconv.Itoa(offset), "limit": "100",
		"timeout": strconv.Itoa(int(timeout / time.Second)), "allowed_updates": string(allowed)})
	if err != nil {
		return nil, err
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(res, &raws); err != nil {
		return nil, &Error{Method: "getUpdates", Retry: true, Reason: ReasonServerError, Description: "cannot decode result: " + err.Error()}
	}
	out := make([]Update, 0, len(raws))
	for _, raw := range raws {
		u, err := ParseUpdate(raw)
		if err != nil {
			continue // one odd update must not stop the others; its id is lost with it
		}
		out = append(out, u)
	}
	return out, nil
}

// AnswerCallbackQuery stops the client's spinner and shows text as a toast.
func (c *Client) AnswerCallbackQuery(ctx context.Context, id, text string) error {
	_, err := c.call(ctx, "answerCallbackQuery", tgbotapi.Params{"callback_query_id": id, "text": text})
	return err
}

// SetMyCommands registers the bot's command list.
func (c *Client) SetMyCommands(ctx context.Context, cmds []tgbotapi.BotCommand) error {
	raw, err := json.Marshal(cmds)
	if err != nil {
		return err
	}
	_, err = c.call(ctx, "setMyCommands", tgbotapi.Params{"commands": string(raw)})
	return err
}

// EditMarkup replaces a message's text (HTML) and inline keyboard; a nil
// markup removes the keyboard.
func (c *Client) EditMarkup(ctx context.Context, chatID string, messageID int, text string, markup *tgbotapi.InlineKeyboardMarkup) error {
	p := tgbotapi.Params{
		"chat_id":              chatID,
		"message_id":           strconv.Itoa(messageID),
		"text":                 text,
		"parse_mode":           "HTML",
		"link_preview_options": `{"is_disabled":true}`,
		"reply_markup":         markupJSON(markup),
	}
	_, err := c.call(ctx, "editMessageText", p)
	return err
}

// markupJSON encodes a keyboard; nil is an empty keyboard (removes it).
func markupJSON(m *tgbotapi.InlineKeyboardMarkup) string {
	if m == nil {
		return `{"inline_keyboard":[]}`
	}
	raw, _ := json.Marshal(m) // plain structs always marshal
	return string(raw)
}

// EditReplyMarkup replaces only a message's inline keyboard (nil removes it).
func (c *Client) EditReplyMarkup(ctx context.Context, chatID string, messageID int, markup *tgbotapi.InlineKeyboardMarkup) error {
	_, err := c.call(ctx, "editMessageReplyMarkup", tgbotapi.Params{"chat_id": chatID,
		"message_id": strconv.Itoa(messageID), "reply_markup": markupJSON(markup)})
	return err
}
