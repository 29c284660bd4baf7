package telegram

import (
	"context"
	"encoding/json"
	"strconv"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// Message is one text message to send.
type Message struct {
	ChatID   string // "-100123" or "@channel"
	ThreadID int    // forum topic (message_thread_id); 0 = none
	Text     string // HTML (parse_mode=HTML)
	ReplyTo  int    // message id to reply to; 0 = none. Sent even if that message is gone.
	Silent   bool   // disable_notification
	// Preview enables link previews, which are off by default: an alert
	// with a dashboard link should not grow a large card (extension).
	Preview bool
	// Markup is the inline keyboard (nil: none).
	Markup *tgbotapi.InlineKeyboardMarkup
}

// Send sends m and returns the new message's id.
func (c *Client) Send(ctx context.Context, m Message) (int, error) {
	p := tgbotapi.Params{
		"chat_id":    m.ChatID,
		"text":       m.Text,
		"parse_mode": "HTML",
	}
	if m.ThreadID != 0 {
		p["message_thread_id"] = strconv.Itoa(m.ThreadID)
	}
	if m.ReplyTo != 0 {
		// allow_sending_without_reply: a deleted firing message must not
		// turn the resolved message into a permanent failure.
		p["reply_parameters"] = `{"message_id":` + strconv.Itoa(m.ReplyTo) + `,"allow_sending_without_reply":true}`
	}
	if m.Silent {
		p["disable_notification"] = "true"
	}
	if !m.Preview {
		p["link_preview_options"] = `{"is_disabled":true}`
	}
	if m.Markup != nil {
		p["reply_markup"] = markupJSON(m.Markup)
	}
	res, err := c.call(ctx, "sendMessage", p)
	if err != nil {
		return 0, err
	}
	var sent struct {
		MessageID int `json:"message_id"`
	}
	// ok:true means the message is out; a result we cannot read must not
	// make the caller send it again, so a decoding problem yields id 0.
	_ = json.Unmarshal(res, &sent)
	return sent.MessageID, nil
}

// Edit replaces the text (HTML) of a message the bot sent. An edit that
// changes nothing ("message is not modified") succeeds.
func (c *Client) Edit(ctx context.Context, chatID string, messageID int, text string) error {
	p := tgbotapi.Params{
		"chat_id":              chatID,
		"message_id":           strconv.Itoa(messageID),
		"text":                 text,
		"parse_mode":           "HTML",
		"link_preview_options": `{"is_disabled":true}`,
	}
	_, err := c.call(ctx, "editMessageText", p)
	return err
}

// GetMe returns the bot's username; it checks the token.
func (c *Client) GetMe(ctx context.Context) (string, error) {
	res, err := c.call(ctx, "getMe", nil)
	if err != nil {
		return "", err
	}
	var me struct {
		Username string `json:"username"`
	}
	if err := json.Unmarshal(res, &me); err != nil {
		return "", &Error{Method: "getMe", Retry: true, Reason: ReasonServerError, Description: "cannot decode result: " + err.Error()}
	}
	return me.Username, nil
}
