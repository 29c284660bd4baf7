package chat

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/downtime-detector/downtime/receiver/config"
)

// User is who pressed a button or sent a command.
type User struct {
	ID       int64
	Username string // without "@", may be empty
}

// CreatedBy names the user in an Alertmanager silence: "@alice (Telegram)",
// or "Telegram user 123456" without a username.
func (u User) CreatedBy() string {
	if u.Username != "" {
		return "@" + u.Username + " (Telegram)"
	}
	return "Telegram user " + strconv.FormatInt(u.ID, 10)
}

// Display names the user in an edited message: "@alice" or the id.
func (u User) Display() string {
	if u.Username != "" {
		return "@" + u.Username
	}
	return strconv.FormatInt(u.ID, 10)
}

// AllowedUsers is a route's allowed_users (config.AllowedUsers: the
// configuration validates the list where it is written).
type AllowedUsers = config.AllowedUsers

// ParseAllowedUsers validates the entries (see config.ParseAllowedUsers).
func ParseAllowedUsers(field string, entries []string) (AllowedUsers, error) {
	return config.ParseAllowedUsers(field, entries)
}

// Refusals of Authorize. Their texts are short enough for an
// answerCallbackQuery toast (200 characters).
var (
	ErrNotAllowed = errors.New("not allowed: you are not on this route's allowed_users")
	ErrOtherChat  = errors.New("not allowed: this button belongs to another chat")
)

// Press is a callback query reduced to what the check needs.
type Press struct {
	// ChatUsername of a public chat, for the message link; may be empty.
	ChatUsername string
	User         User
	// ChatID of the message the button is on, as Telegram reports it in
	// the callback query.
	ChatID int64
}

// Authorize decides whether a press may act on an action stored for the
// message in chat msgChatID under a route with allowed users. A press whose
// message is in another chat than the stored one is refused: a forwarded or
// copied keyboard, or a forged callback, must not act on another chat's
// alert.
func Authorize(p Press, msgChatID int64, allowed AllowedUsers) error {
	if p.ChatID != msgChatID {
		return ErrOtherChat
	}
	if !allowed.Allows(p.User.ID, p.User.Username) {
		return ErrNotAllowed
	}
	return nil
}

// MessageLink links a chat message for a silence comment: t.me/<username>/<id>
// for public chats, t.me/c/<id>/<id> for private supergroups and channels,
// and a plain "chat <id> message <id>" otherwise (groups and private chats
// have no links).
func MessageLink(chatID int64, chatUsername string, messageID int) string {
	switch {
	case chatUsername != "":
		return fmt.Sprintf("https://t.me/%s/%d", chatUsername, messageID)
	case chatID < -1000000000000:
		return fmt.Sprintf("https://t.me/c/%d/%d", -chatID-1000000000000, messageID)
	default:
		return fmt.Sprintf("chat %d message %d", chatID, messageID)
	}
}

// SilenceComment is the comment of a silence made from the chat.
func SilenceComment(u User, link string) string {
	return "Silenced from Telegram by " + u.Display() + ": " + link
}
